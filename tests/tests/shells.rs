//! Remote shells on enrolled machines, end to end through a real relay on 127.0.0.1: a PKI
//! made with `tether-certs`, an agent enrolled with `tether-agent enroll` and kept online with
//! `tether-agent run`, and technicians' `tether-viewer shell` and `machines`.

use std::{
    io::Write,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use tether_tests::{
    audit, organisation::Organisation, udp_proxy::UdpProxy, wait_with_output, Process, Relay,
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn shells_run_on_the_data_path_and_on_relayed_streams_when_it_is_off_or_unreachable() {
    for (relay_args, via) in [
        (&[][..], "the data path"),
        (&["--data-listen", "off"][..], "the relayed stream"),
        // Tickets are issued, but the data port listens where the clients do not send (they
        // send to the relay's address): as behind a firewall that drops UDP, both sides give up
        // on binding and stay on the relayed stream.
        (&["--data-listen", "127.0.0.2:0"][..], "the relayed stream"),
    ] {
        let org = Organisation::with_relay_args(relay_args);
        let agent = org.machine("web-01", "prod");
        let alice = org.technician("alice", "admin", "1d");
        let output = org.shell(
            &alice,
            "web-01",
            &["sh", "-c", "echo 'up and back'; exit 3"],
        );
        assert_eq!(text(&output.stdout), "up and back\n", "{via}");
        assert_eq!(output.status.code(), Some(3), "{via}");
        agent.stdout.wait_for(&format!(
            "session 1: shell opened by alice (admin) on {via}"
        ));
        // The relay counts the session's bytes on either path.
        let ended = org
            .relay
            .wait_for_audit_row("session ended by the viewer", |row| {
                row["kind"] == "session_ended" && row["reason"] == "viewer_disconnected"
            });
        assert!(
            ended["bytes_to_viewer"]
                .as_u64()
                .is_some_and(|bytes| bytes > 0),
            "{via}: {ended}"
        );
    }
}

#[test]
fn a_shell_on_the_data_path_carries_on_when_a_nat_remaps_both_sides() {
    // Both sides reach the data port at 127.0.0.1 (the relay's address) on its port, where a
    // NAT-like proxy forwards to the real port on 127.0.0.2. The relay's own port is direct.
    let nat = UdpProxy::to_same_port_on([127, 0, 0, 2].into());
    let data_port = format!("127.0.0.2:{}", nat.addr().port());
    let org = Organisation::with_relay_args(&["--data-listen", &data_port]);
    let agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    let script = "echo ready; read line; echo \"got $line\"";
    let mut viewer = Process::spawn_command(
        org.shell_command(&alice, "web-01", &["sh", "-c", script]),
        Stdio::piped(),
    );
    assert_eq!(viewer.stdout.next_line(), "ready");
    agent
        .stdout
        .wait_for("session 1: shell opened by alice (admin) on the data path");

    // From now on both sides' datagrams reach the data port from addresses it never bound.
    nat.remap();
    let remapped = Instant::now();
    viewer.type_line("after the remap");
    let line = viewer.stdout.next_line();
    let recovered = remapped.elapsed();
    let status = viewer.wait();
    assert_eq!(line, "got after the remap", "{}", viewer.stderr.text());
    assert_eq!(status.code(), Some(0));
    eprintln!("the shell answered {recovered:?} after the remap");
}

#[test]
fn a_command_runs_like_ssh_with_separate_streams_and_its_exit_code() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    let output = org.shell(
        &alice,
        "web-01",
        &["sh", "-c", "echo out; echo err >&2; exit 7"],
    );
    assert_eq!(text(&output.stdout), "out\n");
    assert!(
        text(&output.stderr).ends_with("err\n"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(7));
    // The viewer hangs up properly: the relay ends the session at once, not at a timeout.
    org.relay
        .wait_for_audit_row("session ended by the viewer", |row| {
            row["kind"] == "session_ended" && row["reason"] == "viewer_disconnected"
        });
}

#[test]
fn without_a_command_or_a_terminal_the_login_shell_reads_a_script_from_standard_input() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    // As `ssh host < script`: no command, standard input a pipe.
    let mut viewer = org
        .shell_command(&alice, "web-01", &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn viewer");
    viewer
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"echo from-script $((6*7))\nexit 5\n")
        .expect("write the script");
    let output = wait_with_output(viewer);
    assert_eq!(
        text(&output.stdout),
        "from-script 42\n",
        "{}",
        text(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(5));
}

#[test]
fn standard_input_reaches_the_command_and_fifty_megabytes_come_back_intact() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");

    let mut viewer = org
        .shell_command(&alice, "web-01", &["tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn viewer");
    viewer
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"hello through the relay\n")
        .expect("write stdin");
    let output = wait_with_output(viewer);
    assert_eq!(text(&output.stdout), "HELLO THROUGH THE RELAY\n");
    assert_eq!(output.status.code(), Some(0));

    // 50 MB of incompressible bytes, checked by digest on both ends.
    let file = org.relay.path("random.bin");
    let mut random = vec![0; 50_000_000];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
    std::fs::write(&file, &random).expect("write");
    let expected = Sha256::digest(&random);
    let output = org.shell(&alice, "web-01", &["cat", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(output.stdout.len(), 50_000_000);
    assert_eq!(Sha256::digest(&output.stdout), expected);
}

#[test]
fn several_shells_run_on_one_machine_at_once() {
    let org = Organisation::new();
    let agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    // Each shell waits for a file the next one creates, so they can only finish if all three
    // run at the same time.
    let dir = org.relay.path("");
    let shells: Vec<_> = (0..3)
        .map(|i| {
            let script = format!(
                "touch {dir}/started-{i}; while [ $(ls {dir} | grep -c started-) -lt 3 ]; do sleep 0.05; done; echo shell {i}"
            );
            org.shell_command(&alice, "web-01", &["sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn viewer")
        })
        .collect();
    for (i, shell) in shells.into_iter().enumerate() {
        let output = wait_with_output(shell);
        assert_eq!(
            text(&output.stdout),
            format!("shell {i}\n"),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0));
    }
    agent
        .stdout
        .wait_for_substring("shell opened by alice (admin)");
}

#[test]
fn only_allowed_valid_technicians_reach_enrolled_machines_and_every_refusal_is_audited() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    let expect_refused = |output: std::process::Output, words: &str| {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(255), "{stderr}");
        assert!(stderr.contains(words), "expected {words:?} in: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "refused but ran: {}",
            text(&output.stdout)
        );
    };
    let run = |who, machine| org.shell(who, machine, &["echo", "ran"]);

    // A role the policy does not let in (only admin may reach anything by default).
    let intern = org.technician("bob", "intern", "1d");
    expect_refused(run(&intern, "web-01"), "access policy");
    // A revoked certificate: its open session is cut off, and it cannot connect again.
    let mallory = org.technician("mallory", "admin", "1d");
    assert_eq!(text(&run(&mallory, "web-01").stdout), "ran\n");
    let open_session = org
        .shell_command(&mallory, "web-01", &["sh", "-c", "echo started; sleep 60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn viewer");
    org.relay.wait_for_audit_row("mallory's session", |row| {
        row["kind"] == "session_started" && row["viewer_name"] == "mallory (admin)"
    });
    org.certs(&["revoke", "mallory"]);
    let cut_off = wait_with_output(open_session);
    assert_eq!(
        cut_off.status.code(),
        Some(255),
        "{}",
        text(&cut_off.stderr)
    );
    assert!(
        text(&cut_off.stderr).contains("revoked"),
        "{}",
        text(&cut_off.stderr)
    );
    expect_refused(run(&mallory, "web-01"), "revoked");
    // An expired certificate.
    let brief = org.technician("brief", "admin", "1s");
    thread::sleep(Duration::from_millis(2100));
    expect_refused(run(&brief, "web-01"), "expired");
    // A certificate from another organisation's CA.
    let other = Organisation::new();
    let stranger = other.technician("alice", "admin", "1d");
    expect_refused(
        run(&stranger, "web-01"),
        "not issued by the organisation's CA",
    );
    // A machine that never enrolled.
    expect_refused(run(&alice, "db-07"), "no such enrolled machine");
    // And alice herself still gets in.
    assert_eq!(text(&run(&alice, "web-01").stdout), "ran\n");

    let rows = org.relay.audit_rows();
    let kinds = audit::kinds(&rows);
    for kind in [
        "access_refused",
        "handshake_failed",
        "machine_enrolled",
        "machine_online",
    ] {
        assert!(
            kinds.contains(&kind),
            "no {kind} row in:\n{}",
            audit::lines(&rows)
        );
    }
    for reason in ["not_permitted", "not_enrolled"] {
        assert!(
            rows.iter()
                .any(|row| row["kind"] == "access_refused" && row["reason"] == reason),
            "no access refused as {reason} in:\n{}",
            audit::lines(&rows)
        );
    }
    org.relay.verify_audit();
}

#[test]
fn an_enrollment_credential_works_once_and_machines_list_what_a_role_may_reach() {
    let org = Organisation::new();
    let credential = org.enrollment("web-01", "prod");
    // `enroll` deletes the credential it used; a copy kept elsewhere still works only once.
    let copy = org.relay.path("credential-copy.pem");
    std::fs::copy(&credential, &copy).expect("copy the credential");
    let first = org.enroll(&credential, &org.relay.path("state-a"));
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("enrolled: web-01 (group prod)"));
    let again = org.enroll(&copy, &org.relay.path("state-b"));
    assert_eq!(again.status.code(), Some(3), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already used"),
        "{}",
        text(&again.stderr)
    );

    let alice = org.technician("alice", "admin", "1d");
    let listed = org.machines(&alice);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed = text(&listed.stdout);
    assert!(
        listed.contains("\"name\":\"web-01\"") && listed.contains("\"online\":false"),
        "{listed}"
    );
    let _agent = tether_tests::Process::spawn(
        "tether-agent",
        &["run", "--state-dir", &org.relay.path("state-a")],
        &[],
    );
    _agent.stdout.wait_for("online at ");
    let listed = text(&org.machines(&alice).stdout);
    assert!(listed.contains("\"online\":true"), "{listed}");

    let bob = org.technician("bob", "intern", "1d");
    assert!(!text(&org.machines(&bob).stdout).contains("web-01"));
    let allowed = org
        .relay
        .admin(&["policy", "allow", "intern", "group:prod"]);
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    assert!(text(&org.machines(&bob).stdout).contains("web-01"));
}

#[test]
fn an_enrolled_agent_comes_back_online_by_itself_after_a_relay_restart() {
    back_online_within_3_s_of(Relay::restart);
}

#[test]
fn an_enrolled_agent_is_back_online_within_3_s_of_a_relay_crash() {
    back_online_within_3_s_of(Relay::crash_and_restart);
}

/// Puts an organisation's relay through `outage` and checks that its enrolled agent is back
/// online within 3 s, reachable by a technician.
fn back_online_within_3_s_of(outage: impl FnOnce(&mut Relay)) {
    let mut org = Organisation::new();
    let agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    outage(&mut org.relay);
    let restarted = Instant::now();
    agent.stdout.wait_for("online at ");
    let back = restarted.elapsed();
    assert!(back < Duration::from_secs(3), "back online after {back:?}");
    let output = org.shell(&alice, "web-01", &["echo", "back"]);
    assert_eq!(text(&output.stdout), "back\n", "{}", text(&output.stderr));
}

#[test]
fn a_stopped_agent_goes_offline_at_once_and_its_open_shells_end() {
    let org = Organisation::new();
    let mut agent = org.machine("web-01", "prod");
    let alice = org.technician("alice", "admin", "1d");
    let mut open_session = Process::spawn_command(
        org.shell_command(&alice, "web-01", &["sh", "-c", "echo started; sleep 60"]),
        Stdio::null(),
    );
    assert_eq!(open_session.stdout.next_line(), "started");

    // As systemd stops a service: SIGTERM, and the agent says goodbye to the relay.
    let status = agent.terminate();
    assert_eq!(status.code(), Some(0), "{}", agent.stderr.text());
    agent
        .stdout
        .wait_for("session 1: shell ended: the relay ended the session");
    agent.stdout.wait_for("stopped: offline at the relay");
    // Offline now, not after the relay's idle timeout.
    let listed = text(&org.machines(&alice).stdout);
    assert!(listed.contains("\"online\":false"), "{listed}");
    let cut_off = open_session.wait();
    assert_eq!(cut_off.code(), Some(255), "{}", open_session.stderr.text());
}

#[test]
fn a_machine_keeps_refusing_a_revoked_technician_when_the_relay_forgets_the_revocation() {
    let org = Organisation::new();
    let mut agent = org.machine("web-01", "prod");
    agent
        .stdout
        .wait_for("revocation list updated: 0 certificates revoked");
    let mallory = org.technician("mallory", "admin", "1d");
    let crl = org.pki().join("crl.pem");
    let before_revocation = std::fs::read(&crl).expect("the CA's revocation list");
    org.certs(&["revoke", "mallory"]);
    // The relay reloads the list and passes it on to the online machine.
    agent
        .stdout
        .wait_for("revocation list updated: 1 certificates revoked");

    // A restarted agent keeps the list it was given.
    assert_eq!(agent.terminate().code(), Some(0));
    let state_dir = org.relay.path("agent-web-01");
    let agent = tether_tests::Process::spawn(
        "tether-agent",
        &["run", "--state-dir", &state_dir, "--shell", "/bin/sh"],
        &[],
    );
    agent.stdout.wait_for("online at ");

    // The relay forgets the revocation (its list rolled back, as a compromised relay might do)
    // and lets mallory through again; the machine refuses by itself.
    std::fs::write(&crl, before_revocation).expect("roll the relay's list back");
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let output = org.shell(&mallory, "web-01", &["echo", "ran"]);
        let stderr = text(&output.stderr);
        if !stderr.contains("relay rejected") {
            assert_eq!(output.status.code(), Some(255), "{stderr}");
            assert!(output.stdout.is_empty(), "ran: {}", text(&output.stdout));
            break stderr;
        }
        assert!(
            Instant::now() < deadline,
            "the relay never reloaded the old list: {stderr}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    assert!(
        refused.contains("web-01 refused your certificate"),
        "{refused}"
    );
    agent
        .stdout
        .wait_for_substring("certificate for mallory was revoked");
    assert!(
        !agent.stdout.text().contains("revocation list updated"),
        "the restarted agent took an older list: {}",
        agent.stdout.text()
    );
}
