//! The directory's administration commands, run as the real binary against a temporary data
//! directory: the default policy, changing it, listing and removing machines, exit codes.

mod command;

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use tether_relay::directory::{Directory, NewMachine};

/// Runs `tether-relay ARGS --data-dir DATA_DIR`: exit code, stdout, stderr.
fn relay(data_dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    command::run(
        command::relay()
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("TETHER_RELAY_DATABASE")
            .env_remove("TETHER_RELAY_CONFIG"),
    )
}

fn enroll(data_dir: &Path, name: &str, group: &str) {
    let mut directory = Directory::open(&data_dir.join("relay.db")).expect("open directory");
    directory
        .enroll(
            NewMachine {
                name: name.to_owned(),
                group: group.to_owned(),
                machine_key: [7; 32],
                enrollment_cert: b"fake DER".to_vec(),
                endorsement: b"fake endorsement".to_vec(),
                enrollment_serial: format!("serial-{name}"),
            },
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .expect("enroll");
}

#[test]
fn the_policy_starts_with_the_admin_rule_and_changes_on_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();

    let (code, stdout, stderr) = relay(data, &["policy"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ROLE", "TARGET"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["admin", "*"]
    );

    let (code, stdout, stderr) = relay(data, &["policy", "allow", "ops", "group:web"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("added: role ops may reach group:web"),
        "{stdout}"
    );
    assert!(stdout.contains("covers no enrolled machine"), "{stdout}");
    let (code, stdout, _) = relay(data, &["policy", "allow", "ops", "group:web"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("unchanged"), "{stdout}");

    let (code, stdout, stderr) = relay(data, &["policy", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let rules: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        rules,
        serde_json::json!([
            {"role": "admin", "target": "*"},
            {"role": "ops", "target": "group:web"}
        ])
    );

    let (code, stdout, stderr) = relay(data, &["policy", "disallow", "admin", "*"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("removed: role admin may reach *"),
        "{stdout}"
    );
    let (code, _, stderr) = relay(data, &["policy", "disallow", "admin", "*"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no rule \"role admin may reach *\""),
        "{stderr}"
    );

    // The admin rule is not seeded again.
    let (_, stdout, _) = relay(data, &["policy"]);
    assert!(!stdout.contains("admin"), "{stdout}");
    assert!(
        stdout.contains("ops") && stdout.contains("group:web"),
        "{stdout}"
    );
}

#[test]
fn malformed_roles_and_targets_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        ["policy", "allow", "ops", "web"],
        ["policy", "allow", "ops", "group:a b"],
        ["policy", "allow", "the ops", "*"],
        ["policy", "disallow", "ops", "host:x"],
    ] {
        let (code, _, stderr) = relay(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
    }
}

#[test]
fn machines_are_listed_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();

    let (code, stdout, stderr) = relay(data, &["machines"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "no machines enrolled\n");
    let (code, stdout, _) = relay(data, &["machines", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("JSON"),
        serde_json::json!([])
    );

    enroll(data, "web-1", "web");
    let (code, stdout, stderr) = relay(data, &["machines"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("NAME"), "{stdout}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells[..2], ["web-1", "web"], "{stdout}");
    assert!(cells[2].starts_with("ed25519:"), "{stdout}");
    assert_eq!(cells[3], "2023-11-14T22:13:20Z", "{stdout}");
    assert_eq!(cells[4], "never", "{stdout}");

    let (code, stdout, stderr) = relay(data, &["machines", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let machines: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let machine = &machines[0];
    assert_eq!(machine["name"], "web-1");
    assert_eq!(machine["group"], "web");
    assert_eq!(machine["key"], "07".repeat(32));
    assert_eq!(machine["fingerprint"], cells[2]);
    assert_eq!(machine["enrolled_at"], "2023-11-14T22:13:20Z");
    assert_eq!(machine["last_seen"], serde_json::Value::Null);

    let (code, stdout, _) = relay(data, &["policy", "allow", "ops", "group:web"]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("covers no enrolled machine"), "{stdout}");

    let (code, _, stderr) = relay(data, &["machines", "remove", "nope"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no machine named \"nope\""), "{stderr}");
    let (code, stdout, stderr) = relay(data, &["machines", "remove", "web-1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "removed machine web-1\n");
    let (_, stdout, _) = relay(data, &["machines"]);
    assert_eq!(stdout, "no machines enrolled\n");
    // Listing options do not mix with actions.
    let (code, _, _) = relay(data, &["machines", "--json", "remove", "web-1"]);
    assert_eq!(code, Some(2));
}

#[test]
fn technicians_are_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let (code, stdout, stderr) = relay(data, &["technicians"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "no technicians seen yet\n");

    let mut directory = Directory::open(&data.join("relay.db")).expect("open");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    directory
        .technician_seen("Ann Lee", "ops", "01ab", at)
        .expect("seen");
    drop(directory);
    let (_, stdout, _) = relay(data, &["technicians"]);
    // A name with a space is quoted, so columns stay columns.
    assert!(
        stdout
            .lines()
            .nth(1)
            .is_some_and(|line| line.starts_with("\"Ann Lee\"  ops")),
        "{stdout}"
    );
    let (_, stdout, _) = relay(data, &["technicians", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).expect("JSON"),
        serde_json::json!([{
            "name": "Ann Lee",
            "role": "ops",
            "serial": "01ab",
            "first_seen": "2023-11-14T22:13:20Z",
            "last_seen": "2023-11-14T22:13:20Z"
        }])
    );
}

#[test]
fn a_database_that_is_not_sqlite_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("relay.db");
    std::fs::write(&database, "not a database\n".repeat(100)).expect("write");
    let (code, _, stderr) = relay(dir.path(), &["machines"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("is not a SQLite database"), "{stderr}");
    assert!(stderr.contains(&database.display().to_string()), "{stderr}");
}
