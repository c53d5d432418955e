//! The `tether-certs` binary end to end, in a temporary directory.

use std::{
    path::Path,
    process::{Command, Output},
};

fn tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether-certs"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("TETHER_PKI_DIR")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tool(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn list(dir: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(dir, &["list", "--json"])).unwrap()
}

#[test]
fn issue_list_and_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");

    let out = ok(&dir, &["init", "--org", "Example Ltd"]);
    assert!(out.contains("ca.key (private key, mode 0600)"), "{out}");
    assert!(out.contains("CA fingerprint: sha256:"), "{out}");
    let out = ok(&dir, &["relay", "relay.example.com", "192.0.2.7"]);
    assert!(
        out.contains("relay.pem") && out.contains("not after"),
        "{out}"
    );
    let out = ok(
        &dir,
        &[
            "technician",
            "alice",
            "--role",
            "admin",
            "--valid-for",
            "30d",
        ],
    );
    assert!(out.contains("technicians/alice.key"), "{out}");
    ok(&dir, &["technician", "bob", "--role", "viewer"]);
    let out = ok(&dir, &["enroll", "web-01", "--group", "web"]);
    assert!(out.contains("enrollments/web-01.pem (private key"), "{out}");
    ok(&dir, &["enroll", "db-01"]);

    let entries = list(&dir);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ca",
            "relay",
            "technician",
            "technician",
            "enrollment",
            "enrollment"
        ]
    );
    let alice = &entries[2];
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["role"], "admin");
    assert_eq!(alice["status"], "valid");
    assert_eq!(
        entries[1]["names"],
        serde_json::json!(["relay.example.com", "192.0.2.7"])
    );
    assert_eq!(entries[5]["group"], "default");
    let serial = alice["serial"].as_str().unwrap().to_owned();
    // What the binary wrote is what the library reads.
    let cred = tether_certs::Credential::load(
        &dir.join("technicians/alice.pem"),
        Some(&dir.join("technicians/alice.key")),
    )
    .unwrap();
    assert_eq!(cred.info().unwrap().serial, serial);

    let out = ok(&dir, &["revoke", "alice"]);
    assert!(
        out.contains(&format!("revoked technician alice (serial {serial})")),
        "{out}"
    );
    assert!(out.contains("number 2"), "{out}");
    let entries = list(&dir);
    assert_eq!(entries[2]["status"], "revoked");
    assert!(entries[2]["revoked_at"].is_string());
    assert_eq!(entries[3]["status"], "valid");
    let table = ok(&dir, &["list"]);
    let alice_row = table.lines().find(|l| l.contains(" alice ")).unwrap();
    assert!(alice_row.ends_with("revoked"), "{table}");
    assert!(
        table.lines().next().unwrap().starts_with("SERIAL"),
        "{table}"
    );

    // The relay, loading the new CRL, refuses alice.
    let trust =
        tether_certs::OrgTrust::load(&dir.join("ca.pem"), Some(&dir.join("crl.pem"))).unwrap();
    let now = rustls::pki_types::UnixTime::now();
    assert!(trust.verify_technician(cred.chain(), now).is_err());

    let out = ok(&dir, &["crl"]);
    assert!(out.contains("number 3"), "{out}");
}

#[test]
fn errors_exit_nonzero_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");

    let out = tool(&dir, &["technician", "alice", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tether-certs init"));

    ok(&dir, &["init", "--org", "Example Ltd"]);
    let out = tool(&dir, &["init", "--org", "Example Ltd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));

    let out = tool(&dir, &["technician", "../evil", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"invalid technician name "../evil": use 1 to 64 of A-Z a-z 0-9 . _ -"#),
        "{stderr}"
    );
    assert!(!dir.join("evil.key").exists() && !tmp.path().join("evil.key").exists());

    ok(&dir, &["technician", "db-01", "--role", "admin"]);
    ok(&dir, &["enroll", "db-01"]);
    let out = tool(&dir, &["revoke", "db-01"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("matches several certificates"), "{stderr}");
    ok(&dir, &["revoke", "db-01", "--kind", "enrollment"]);

    // Usage errors are clap's: exit status 2.
    for args in [
        &["frobnicate"][..],
        &["technician", "bob"],
        &["relay"],
        &["enroll", "x", "--valid-for", "soon"],
    ] {
        assert_eq!(tool(&dir, args).status.code(), Some(2), "{args:?}");
    }
    let out = tool(
        &dir,
        &["technician", "bob", "--role", "admin", "--valid-for", "0s"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1s"));
}

#[test]
fn the_directory_comes_from_the_environment_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("from-env");
    let out = Command::new(env!("CARGO_BIN_EXE_tether-certs"))
        .args(["init", "--org", "Env Org"])
        .env("TETHER_PKI_DIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("ca.pem").is_file());
    let help = Command::new(env!("CARGO_BIN_EXE_tether-certs"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "init",
        "relay",
        "technician",
        "enroll",
        "enrolled",
        "list",
        "revoke",
        "crl",
        "TETHER_PKI_DIR",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
}

#[test]
fn an_enrollment_names_the_roles_it_accepts_and_is_retired_once_used() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    ok(&dir, &["init", "--org", "Example Ltd"]);
    let out = ok(
        &dir,
        &[
            "enroll",
            "web-01",
            "--group",
            "prod",
            "--accept-role",
            "support",
            "--accept-role",
            "admin",
        ],
    );
    assert!(
        out.contains("the machine will accept technicians of admin, support"),
        "{out}"
    );
    let bundle = dir.join("enrollments/web-01.pem");
    let credential = tether_certs::Credential::load(&bundle, None).unwrap();
    let accepted = credential.info().unwrap().accepted_roles;
    assert!(accepted.accepts("admin") && accepted.accepts("support"));
    assert!(!accepted.accepts("intern"));
    let out = tool(&dir, &["enroll", "db-01", "--accept-role", "no role"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid role"));
    let out = ok(&dir, &["enroll", "db-01"]);
    assert!(
        out.contains("the machine will accept technicians of any role"),
        "{out}"
    );

    let out = ok(&dir, &["enrolled", "web-01"]);
    assert!(out.contains("enrollment credential of web-01"), "{out}");
    assert!(out.contains("marked used"), "{out}");
    assert!(out.contains("deleted"), "{out}");
    assert!(!bundle.exists());
    let entries = list(&dir);
    let web = entries.iter().find(|e| e["name"] == "web-01").unwrap();
    assert_eq!(web["status"], "used");
    assert_eq!(web["revoked_because"], "used");
    let table = ok(&dir, &["list"]);
    let row = table.lines().find(|l| l.contains(" web-01 ")).unwrap();
    assert!(row.ends_with("used"), "{table}");

    // Re-enrolled: the first credential is superseded.
    ok(&dir, &["enroll", "web-01", "--group", "prod"]);
    ok(&dir, &["enrolled", "web-01"]);
    let statuses: Vec<String> = list(&dir)
        .iter()
        .filter(|e| e["name"] == "web-01")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["superseded", "used"]);
    let out = tool(&dir, &["enrolled", "web-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already revoked"));
}
