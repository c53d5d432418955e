//! The audit log of a real session: the relay as a library, a scripted agent and viewer, then
//! the rows, their chain, and what tampering with them does.

// Shared with the other relay tests; this one needs only some of it.
#[allow(dead_code)]
mod support;

use std::{net::SocketAddr, path::Path, process::Command};

use tether_relay::{
    audit::{AuditStore, BreakKind, ChainedRow},
    Relay, RelayConfig,
};

fn rows(database: &Path) -> Vec<ChainedRow> {
    let store = AuditStore::open_read_only(database).unwrap();
    let mut rows = Vec::new();
    store
        .for_each_since(i64::MIN, |row| {
            rows.push(row.clone());
            Ok(())
        })
        .unwrap();
    rows
}

fn verify_with_binary(database: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(["audit", "verify", "--database"])
        .arg(database)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_session_is_audited_in_order_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = RelayConfig::new(listen, dir.path().join("relay"));
    let database = config.database.clone();
    let relay = Relay::start(config).await.unwrap();
    let addr = relay.local_addr().to_string();
    let session = support::one_session(&addr, relay.fingerprint(), dir.path()).await;
    // Shutdown waits for the connection tasks and writes their last rows.
    relay.shutdown().await;

    let rows = rows(&database);
    let kinds: Vec<&str> = rows.iter().map(|row| row.record.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "nameplate_issued",
            "join_accepted",
            "session_started",
            "join_refused",
            "session_ended"
        ]
    );
    let nameplate = session.nameplate.to_string();
    let [issued, accepted, started, refused, ended] = &rows[..] else {
        unreachable!()
    };
    assert_eq!(issued.record.nameplate.as_deref(), Some(nameplate.as_str()));
    assert_eq!(issued.record.agent_name.as_deref(), Some("desk-1"));
    assert!(issued
        .record
        .agent_addr
        .as_deref()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert_eq!(accepted.record.session_id, Some(session.session_id));
    assert_eq!(accepted.record.viewer_name.as_deref(), Some("tech"));
    assert_eq!(started.record.agent_name.as_deref(), Some("desk-1"));
    assert_eq!(started.record.viewer_name.as_deref(), Some("tech"));
    assert_eq!(started.record.agent_addr, issued.record.agent_addr);
    assert_eq!(refused.record.viewer_name.as_deref(), Some("late"));
    assert_eq!(refused.record.reason.as_deref(), Some("code_already_used"));
    assert_eq!(ended.record.session_id, Some(session.session_id));
    assert_eq!(ended.record.reason.as_deref(), Some("viewer_disconnected"));
    assert_eq!(ended.record.bytes_to_agent, Some(support::TO_AGENT as u64));
    assert_eq!(
        ended.record.bytes_to_viewer,
        Some(support::TO_VIEWER as u64)
    );
    assert!(ended.record.duration_ms.is_some());
    assert!(rows
        .windows(2)
        .all(|w| w[0].record.at_ms <= w[1].record.at_ms));

    let summary = AuditStore::open_read_only(&database)
        .unwrap()
        .verify()
        .unwrap()
        .unwrap();
    assert_eq!((summary.rows, summary.head), (5, ended.hash));
    let (code, stdout, stderr) = verify_with_binary(&database);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("intact: 5 rows"), "{stdout}");
    assert!(stdout.contains(&hex::encode(ended.hash)), "{stdout}");

    // Someone rewrites who the technician was.
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE audit_log SET viewer_name = 'mallory' WHERE id = 3",
            [],
        )
        .unwrap();
    let broken = AuditStore::open_read_only(&database)
        .unwrap()
        .verify()
        .unwrap()
        .unwrap_err();
    assert_eq!((broken.id, broken.problem), (3, BreakKind::HashMismatch));
    let (code, _, stderr) = verify_with_binary(&database);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("row 3"), "{stderr}");
}

#[tokio::test]
async fn a_relay_restarted_on_the_same_database_extends_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = RelayConfig::new(listen, dir.path().join("relay"));
    let database = config.database.clone();
    for _ in 0..2 {
        let relay = Relay::start(config.clone()).await.unwrap();
        let addr = relay.local_addr().to_string();
        support::one_session(&addr, relay.fingerprint(), dir.path()).await;
        relay.shutdown().await;
    }
    let rows = rows(&database);
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[5].prev_hash, rows[4].hash);
    let store = AuditStore::open_read_only(&database).unwrap();
    assert_eq!(store.verify().unwrap().unwrap().rows, 10);
}

#[tokio::test]
async fn sessions_cut_by_a_shutdown_are_recorded_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = RelayConfig::new(listen, dir.path().join("relay"));
    let database = config.database.clone();
    let relay = Relay::start(config).await.unwrap();
    let addr = relay.local_addr().to_string();
    let known = dir.path().join("known_relays");
    let paired = support::pair(&addr, relay.fingerprint(), &known).await;
    relay.shutdown().await;

    let rows = rows(&database);
    let last = rows.last().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(last.record.kind, "session_ended");
    assert_eq!(last.record.session_id, Some(paired.session_id));
    assert_eq!(last.record.reason.as_deref(), Some("relay_shutdown"));
}
