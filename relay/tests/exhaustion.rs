//! Attacks on the relay's resources and records, against the real binary or a real relay on
//! loopback: the audit log's head kept elsewhere catches the removal of its newest rows.

use std::{
    ffi::OsStr,
    net::SocketAddr,
    path::Path,
    process::Command,
    time::{Duration, SystemTime},
};

use tether_relay::audit::{AuditEvent, AuditStore, Peer, SessionEnd};

/// Runs the relay binary with `args`: its exit code, stdout and stderr.
fn run(args: &[&OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(args)
        .output()
        .expect("run relay");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Appends `sessions` sessions' rows (two each) to the audit log at `database`.
fn append_sessions(database: &Path, sessions: std::ops::Range<u64>) {
    let peer = |name: &str| Peer {
        addr: SocketAddr::from(([127, 0, 0, 1], 4000)),
        name: name.to_owned(),
    };
    let rows: Vec<_> = sessions
        .flat_map(|session_id| {
            [
                AuditEvent::SessionStarted {
                    session_id,
                    agent: peer("desk"),
                    viewer: peer("tech"),
                },
                AuditEvent::SessionEnded {
                    session_id,
                    reason: SessionEnd::ViewerDisconnected,
                    duration: Duration::from_secs(60),
                    bytes_to_agent: 1,
                    bytes_to_viewer: 2,
                },
            ]
        })
        .map(|event| event.into_record(SystemTime::now()))
        .collect();
    AuditStore::open(database)
        .expect("open")
        .append(&rows)
        .expect("append");
}

#[test]
fn a_head_kept_elsewhere_catches_the_newest_rows_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("relay.db");
    let db = database.as_os_str();
    append_sessions(&database, 0..3);
    let (code, kept, stderr) = run(&["audit".as_ref(), "head".as_ref(), "--database".as_ref(), db]);
    assert_eq!(code, Some(0), "{stderr}");
    let kept = kept.trim().to_owned();
    assert!(kept.starts_with("sha256:") && kept.len() == 71, "{kept}");
    let verify = |head: &str| {
        run(&[
            "audit".as_ref(),
            "verify".as_ref(),
            "--expect-head".as_ref(),
            head.as_ref(),
            "--database".as_ref(),
            db,
        ])
    };

    // The log grows: it still holds the kept head.
    append_sessions(&database, 3..5);
    let (code, stdout, stderr) = verify(&kept);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("audit log intact: 10 rows"), "{stdout}");

    // The newest rows, the kept head's among them, are removed: the shorter chain is intact on
    // its own, but does not hold the head.
    rusqlite::Connection::open(&database)
        .expect("open")
        .execute("DELETE FROM audit_log WHERE id >= 6", [])
        .expect("delete");
    let (code, stdout, _) = run(&[
        "audit".as_ref(),
        "verify".as_ref(),
        "--database".as_ref(),
        db,
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, _, stderr) = verify(&kept);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("broken at row 6: the chain does not hold the kept head sha256:"),
        "{stderr}"
    );

    let (code, _, stderr) = verify("sha256:1234");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--expect-head"), "{stderr}");
    let missing = dir.path().join("none.db");
    let (code, _, stderr) = run(&[
        "audit".as_ref(),
        "head".as_ref(),
        "--database".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no audit log at"), "{stderr}");
}
