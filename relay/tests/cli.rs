//! The relay's command line: usage errors with exit code 2, the effective configuration, and
//! the audit commands' output and exit codes. (Starting a serving relay, its readiness lines
//! and its identity across restarts are tested in the `tether-tests` crate.)

mod command;

use std::{
    ffi::OsStr,
    net::SocketAddr,
    path::Path,
    time::{Duration, SystemTime},
};

use tether_proto::{control::Refusal, Nameplate};
use tether_relay::audit::{AuditEvent, AuditStore, Peer, SessionEnd};

#[test]
fn a_bad_listen_address_is_a_usage_error() {
    let (code, _, stderr) = run(&["--listen".as_ref(), "not-an-address".as_ref()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--listen"));
}

fn check_config(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    command::run(
        command::relay()
            .args(args)
            .arg("check-config")
            .envs(env.iter().copied()),
    )
}

#[test]
fn settings_layer_flags_over_environment_over_file_over_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("relay.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\ncode_ttl_secs = 120\nidle_timeout_secs = 5\n",
    )
    .expect("write config");
    let file = file.to_str().expect("utf-8");
    let (code, stdout, stderr) = check_config(
        &["--config", file, "--idle-timeout-secs", "30"],
        &[
            ("TETHER_RELAY_CODE_TTL_SECS", "60"),
            ("TETHER_RELAY_IDLE_TIMEOUT_SECS", "20"),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("listen = \"127.0.0.1:9000\""),
        "file: {stdout}"
    );
    assert!(
        stdout.contains("code_ttl_secs = 60"),
        "environment over file: {stdout}"
    );
    assert!(
        stdout.contains("idle_timeout_secs = 30"),
        "flag over environment: {stdout}"
    );
    assert!(stdout.contains("# configuration OK"));
}

#[test]
fn a_misspelt_key_in_the_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("relay.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nidle_timout_secs = 5\n").expect("write");
    let (code, _, stderr) = check_config(&["--config", file.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("unknown field `idle_timout_secs`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");
}

/// Runs `tether-relay` with `args`: exit code, stdout, stderr.
fn run(args: &[&OsStr]) -> (Option<i32>, String, String) {
    command::run(command::relay().args(args))
}

/// An audit log with a session from 2020 and a refused join from now.
fn write_audit_log(database: &Path) {
    let peer = |port: u16, name: &str| Peer {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        name: name.to_owned(),
    };
    let nameplate = Nameplate::try_from(42).expect("nameplate");
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let records = [
        AuditEvent::SessionStarted {
            session_id: 1,
            agent: peer(1000, "desk"),
            viewer: peer(2000, "tech"),
        }
        .into_record(long_ago),
        AuditEvent::SessionEnded {
            session_id: 1,
            reason: SessionEnd::AgentDisconnected,
            duration: Duration::from_millis(1500),
            bytes_to_agent: 10,
            bytes_to_viewer: 20,
        }
        .into_record(long_ago),
        AuditEvent::JoinRefused {
            nameplate,
            viewer: peer(3000, "guess\nforged line"),
            reason: Refusal::UnknownCode,
        }
        .into_record(SystemTime::now()),
    ];
    AuditStore::open(database)
        .expect("open")
        .append(&records)
        .expect("append");
}

#[test]
fn audit_prints_the_log_as_a_table_or_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("audit.db");
    write_audit_log(&database);
    let db = database.as_os_str();

    let (code, stdout, stderr) = run(&["audit".as_ref(), "--database".as_ref(), db]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows: {stdout}");
    assert!(lines[1].contains("2020-09-13T12:26:40.000Z") && lines[1].contains("session_started"));
    assert!(lines[1].contains("agent=\"desk\"@127.0.0.1:1000 viewer=\"tech\"@127.0.0.1:2000"));
    assert!(lines[2].contains("reason=agent_disconnected duration=1.500s"));
    assert!(
        lines[3].contains("viewer=\"guess\\nforged line\""),
        "names are escaped"
    );

    let (code, stdout, _) = run(&[
        "audit".as_ref(),
        "--since".as_ref(),
        "1h".as_ref(),
        "--json".as_ref(),
        "--database".as_ref(),
        db,
    ]);
    assert_eq!(code, Some(0));
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    assert_eq!(rows.len(), 1, "only the recent row: {stdout}");
    assert_eq!(rows[0]["id"], 3);
    assert_eq!(rows[0]["kind"], "join_refused");
    assert_eq!(rows[0]["reason"], "unknown_code");
    assert_eq!(rows[0]["hash"].as_str().map(str::len), Some(64));

    let since = [
        "audit",
        "--since",
        "2020-09-13T12:26:40Z",
        "--json",
        "--database",
    ];
    let mut args: Vec<&OsStr> = since.iter().map(OsStr::new).collect();
    args.push(db);
    let (_, stdout, _) = run(&args);
    assert_eq!(stdout.lines().count(), 3);
}

#[test]
fn audit_verify_exit_codes_say_intact_broken_or_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("audit.db");
    write_audit_log(&database);
    // The database named in a config file is used.
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!("database = {:?}\n", database.to_str().expect("utf-8")),
    )
    .expect("write config");
    let verify = [
        "--config".as_ref(),
        config.as_os_str(),
        "audit".as_ref(),
        "verify".as_ref(),
    ];

    let (code, stdout, stderr) = run(&verify);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("audit log intact: 3 rows, head sha256:"),
        "{stdout}"
    );

    rusqlite::Connection::open(&database)
        .expect("open")
        .execute("DELETE FROM audit_log WHERE id = 2", [])
        .expect("delete");
    let (code, _, stderr) = run(&verify);
    assert_eq!(code, Some(3));
    assert!(stderr.contains("broken at row 3"), "{stderr}");

    let missing = dir.path().join("none.db");
    let (code, _, stderr) = run(&[
        "audit".as_ref(),
        "verify".as_ref(),
        "--database".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no audit log at"), "{stderr}");
    assert!(!missing.exists(), "reading never creates a database");
    let (code, _, _) = run(&[
        "audit".as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code, Some(1), "no relay.db in the data directory");

    let (code, _, stderr) = run(&[
        "audit".as_ref(),
        "--since".as_ref(),
        "last tuesday".as_ref(),
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--since"), "{stderr}");
}

#[test]
fn check_config_shows_the_database_and_metrics_address() {
    let (code, stdout, stderr) = check_config(
        &[
            "--data-dir",
            "/srv/relay",
            "--metrics-listen",
            "127.0.0.1:9464",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("database = \"/srv/relay/relay.db\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("metrics_listen = \"127.0.0.1:9464\""),
        "{stdout}"
    );
    let (code, stdout, _) = check_config(&[], &[("TETHER_RELAY_DATABASE", "/var/log/audit.db")]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("database = \"/var/log/audit.db\""),
        "{stdout}"
    );
}

#[test]
fn a_taken_metrics_address_is_a_runtime_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("address").to_string();
    let (code, _, stderr) = run(&[
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
        "--metrics-listen".as_ref(),
        taken.as_ref(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&format!("cannot serve metrics on {taken}")),
        "{stderr}"
    );
}
