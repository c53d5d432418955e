//! Enrolled machines against a relay that cannot be trusted with them, through the real relay:
//! a relay whose directory vouches for a key that an old or revoked enrollment credential
//! endorsed is not believed by the viewer; a relay that lets every role through still gets no
//! one a shell on a machine that does not accept their role; and a session ends when the
//! technician's certificate expires.

use std::{
    path::Path,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use tether_certs::{endorsement_message, Credential};
use tether_e2e::MachineKey;
use tether_tests::{organisation::Organisation, Process, TIMEOUT};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `echo ran` on web-01 as `technician`; returns (exit code, stdout, stderr).
fn run_on_web01(
    org: &Organisation,
    technician: &tether_tests::organisation::TechnicianFiles,
) -> (Option<i32>, String, String) {
    let output = org.shell(technician, "web-01", &["echo", "ran"]);
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Enrolls web-01 with `credential` into `state` (checking the credential is deleted), starts
/// its agent, and retires the credential as an admin does once the machine has enrolled.
fn enroll_web01(org: &Organisation, credential: &str, state: &str) -> Process {
    let enrolled = org.enroll(credential, state);
    let stdout = text(&enrolled.stdout);
    assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));
    assert!(
        stdout.contains(&format!("deleted {credential}")),
        "{stdout}"
    );
    assert!(!Path::new(credential).exists(), "the credential stayed");
    let agent = Process::spawn(
        "tether-agent",
        &["run", "--state-dir", state, "--shell", "/bin/sh"],
        &[],
    );
    agent.stdout.wait_for("online at ");
    let retired = org.certs(&["enrolled", "web-01"]);
    assert!(retired.contains("marked used"), "{retired}");
    agent
}

/// A copy of `credential` kept before it is used, as someone who leaked it would have.
fn leak(org: &Organisation, credential: &str, name: &str) -> Credential {
    let copy = org.relay.path(name);
    std::fs::copy(credential, &copy).expect("copy the credential");
    Credential::load(Path::new(&copy), None).expect("the leaked credential")
}

/// Edits the relay's directory so that it vouches for a new machine key for web-01, endorsed
/// by `leaked`: what a relay in the hands of whoever leaked the credential would serve.
fn vouch_for_a_new_key(org: &Organisation, leaked: &Credential) {
    let (key, _) = MachineKey::generate().expect("a machine key");
    let key = key.public_key();
    let (_, endorsement) = leaked
        .sign(&endorsement_message("web-01", &key))
        .expect("endorse");
    let database = Path::new(&org.relay.data_dir()).join("relay.db");
    let db = rusqlite::Connection::open(database).expect("the relay's directory");
    db.busy_timeout(TIMEOUT).expect("busy timeout");
    let updated = db
        .execute(
            "UPDATE machines SET machine_key = ?1, enrollment_cert = ?2, endorsement = ?3 \
             WHERE name = 'web-01'",
            rusqlite::params![key.to_vec(), leaked.chain()[0].to_vec(), endorsement],
        )
        .expect("edit the directory");
    assert_eq!(updated, 1);
}

#[test]
fn a_key_endorsed_by_an_old_or_revoked_credential_is_refused_even_when_the_relay_vouches() {
    let org = Organisation::new();
    let alice = org.technician("alice", "admin", "1d");

    // Enrolled, and the credential retired as used: the machine serves as before.
    let first = org.enrollment("web-01", "prod");
    let first_leaked = leak(&org, &first, "first-leaked.pem");
    let mut agent = enroll_web01(&org, &first, &org.relay.path("state-a"));
    assert_eq!(run_on_web01(&org, &alice).1, "ran\n");

    // Enrolled again with a new credential: the first one is superseded.
    assert_eq!(agent.terminate().code(), Some(0));
    let second = org.enrollment("web-01", "prod");
    let second_leaked = leak(&org, &second, "second-leaked.pem");
    let _agent = enroll_web01(&org, &second, &org.relay.path("state-b"));
    assert_eq!(run_on_web01(&org, &alice).1, "ran\n");

    // The old credential endorses a new key, and the relay vouches for it.
    vouch_for_a_new_key(&org, &first_leaked);
    let (code, stdout, stderr) = run_on_web01(&org, &alice);
    assert_eq!(code, Some(255), "{stderr}");
    assert!(stdout.is_empty(), "ran: {stdout}");
    assert!(
        stderr.contains(
            "the relay presented a key for web-01 that the organisation does not endorse"
        ) && stderr.contains("enrolled again"),
        "{stderr}"
    );

    // The current credential is revoked outright (its key leaked): a key it endorses now is
    // refused too.
    vouch_for_a_new_key(&org, &second_leaked);
    let serial = second_leaked.info().expect("describe").serial;
    org.certs(&["revoke", &serial]);
    let (code, stdout, stderr) = run_on_web01(&org, &alice);
    assert_eq!(code, Some(255), "{stderr}");
    assert!(stdout.is_empty(), "ran: {stdout}");
    assert!(
        stderr.contains("its enrollment credential was revoked"),
        "{stderr}"
    );
}

#[test]
fn a_relay_that_lets_every_role_through_gets_no_shell_for_a_role_the_machine_does_not_accept() {
    let org = Organisation::new();
    org.certs(&[
        "enroll",
        "web-01",
        "--group",
        "prod",
        "--accept-role",
        "support",
    ]);
    let credential = org
        .pki()
        .join("enrollments/web-01.pem")
        .to_str()
        .expect("utf-8")
        .to_owned();
    let state = org.relay.path("state");
    let enrolled = org.enroll(&credential, &state);
    assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));
    assert!(text(&enrolled.stdout).contains("accepts technicians of support"));
    let agent = Process::spawn(
        "tether-agent",
        &["run", "--state-dir", &state, "--shell", "/bin/sh"],
        &[],
    );
    agent.stdout.wait_for("online at ");
    // The relay's policy lets every role reach every machine.
    for role in ["intern", "support"] {
        let allowed = org.relay.admin(&["policy", "allow", role, "*"]);
        assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    }

    let carol = org.technician("carol", "support", "1d");
    assert_eq!(run_on_web01(&org, &carol).1, "ran\n");
    for (name, role) in [("alice", "admin"), ("bob", "intern")] {
        let technician = org.technician(name, role, "1d");
        let (code, stdout, stderr) = run_on_web01(&org, &technician);
        assert_eq!(code, Some(255), "{stderr}");
        assert!(stdout.is_empty(), "{role} ran: {stdout}");
        assert!(
            stderr.contains("web-01 does not accept technicians of your role"),
            "{stderr}"
        );
        agent.stdout.wait_for_substring(&format!(
            "refused: this machine does not accept technicians of role \"{role}\""
        ));
    }
}

#[test]
fn a_session_ends_when_the_technicians_certificate_expires() {
    let org = Organisation::new();
    let agent = org.machine("web-01", "prod");
    let issued = Instant::now();
    let dave = org.technician("dave", "admin", "12s");
    let mut viewer = Process::spawn_command(
        org.shell_command(&dave, "web-01", &["sh", "-c", "echo pid $$; sleep 60"]),
        Stdio::null(),
    );
    let pid = viewer.stdout.wait_for("pid ");
    viewer.expect_exit(255, "your technician certificate expired");
    assert!(
        issued.elapsed() >= Duration::from_secs(10),
        "ended after {:?}, before the certificate expired",
        issued.elapsed()
    );
    agent
        .stdout
        .wait_for_substring("shell ended: the technician's certificate expired");
    // The program went with its session.
    let proc = format!("/proc/{pid}");
    let deadline = Instant::now() + TIMEOUT;
    while Path::new(&proc).exists() {
        assert!(
            Instant::now() < deadline,
            "the shell {pid} outlived its session"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
