//! The audit log of real sessions, read as operators read it (`tether-relay audit --json` and
//! `audit verify`): the rows, their chain, and what tampering with them does.

use tether_tests::{
    audit::kinds,
    relay_client::{one_session, pair, TO_AGENT, TO_VIEWER},
    Relay,
};

#[test]
fn a_session_is_audited_in_order_and_tampering_is_caught() {
    let mut relay = Relay::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = runtime.block_on(one_session(&relay));
    // A graceful stop waits for the connection tasks and writes their last rows.
    assert_eq!(relay.process.terminate().code(), Some(0));

    let rows = relay.audit_rows();
    assert_eq!(
        kinds(&rows),
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
    assert_eq!(issued["nameplate"], nameplate.as_str());
    assert_eq!(issued["agent_name"], "desk-1");
    assert!(issued["agent_addr"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert_eq!(accepted["session_id"], session.session_id);
    assert_eq!(accepted["viewer_name"], "tech");
    assert_eq!(started["agent_name"], "desk-1");
    assert_eq!(started["viewer_name"], "tech");
    assert_eq!(started["agent_addr"], issued["agent_addr"]);
    assert_eq!(refused["viewer_name"], "late");
    assert_eq!(refused["reason"], "code_already_used");
    assert_eq!(ended["session_id"], session.session_id);
    assert_eq!(ended["reason"], "viewer_disconnected");
    assert_eq!(ended["bytes_to_agent"], TO_AGENT);
    assert_eq!(ended["bytes_to_viewer"], TO_VIEWER);
    assert!(ended["duration_ms"].is_u64(), "{ended}");
    let at = |row: &serde_json::Value| row["at_ms"].as_i64().expect("at_ms");
    assert!(rows.windows(2).all(|w| at(&w[0]) <= at(&w[1])));

    let head = ended["hash"].as_str().expect("hash");
    let report = relay.verify_audit();
    assert!(report.contains("intact: 5 rows"), "{report}");
    assert!(report.contains(&format!("head sha256:{head}")), "{report}");

    // Someone rewrites who the technician was.
    let database = format!("{}/relay.db", relay.data_dir());
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE audit_log SET viewer_name = 'mallory' WHERE id = 3",
            [],
        )
        .unwrap();
    let broken = relay.admin(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("broken at row 3: content does not match its hash"),
        "{stderr}"
    );
}

#[test]
fn a_relay_restarted_on_the_same_database_extends_the_chain() {
    let mut relay = Relay::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(one_session(&relay));
    relay.restart();
    runtime.block_on(one_session(&relay));
    assert_eq!(relay.process.terminate().code(), Some(0));

    let rows = relay.audit_rows();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[5]["prev_hash"], rows[4]["hash"]);
    let report = relay.verify_audit();
    assert!(report.contains("intact: 10 rows"), "{report}");
}

#[test]
fn sessions_cut_by_a_shutdown_are_recorded_as_such() {
    let mut relay = Relay::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The clients stay connected, and silent, while the relay shuts down.
    let paired = runtime.block_on(pair(&relay));
    assert_eq!(relay.process.terminate().code(), Some(0));

    let rows = relay.audit_rows();
    let last = rows.last().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(last["kind"], "session_ended");
    assert_eq!(last["session_id"], paired.session_id);
    assert_eq!(last["reason"], "relay_shutdown");
}
