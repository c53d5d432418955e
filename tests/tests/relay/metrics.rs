//! The metrics endpoint, scraped over HTTP after real sessions, and the audit log read while
//! the relay writes it.

use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage},
    Nameplate,
};
use tether_tests::{
    audit::kinds,
    relay_client::{one_session, Client, TO_AGENT, TO_VIEWER},
    Relay,
};

use crate::scrape::{get, scrape_until};

#[test]
fn one_session_shows_in_the_metrics_of_the_relay_binary() {
    let relay = Relay::start(&["--metrics-listen", "127.0.0.1:0"]);
    let metrics = relay.metrics.clone().expect("metrics on");
    assert!(
        metrics.starts_with("127.0.0.1:") && !metrics.ends_with(":0"),
        "{metrics}"
    );

    assert_eq!(
        get(&metrics, "/healthz"),
        (200, get(&metrics, "/healthz").1, "ok\n".to_owned())
    );
    assert_eq!(get(&metrics, "/nothing-here").0, 404);
    let before = scrape_until(&metrics, |_| true);
    assert_eq!(before["tether_relay_sessions_total"], 0.0);

    let session = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(one_session(&relay));

    let after = scrape_until(&metrics, |s| {
        s["tether_relay_connections_open"] == 0.0 && s["tether_relay_sessions_active"] == 0.0
    });
    for (series, value) in [
        ("tether_relay_connections_total", 3),
        ("tether_relay_connections_open", 0),
        ("tether_relay_agents_registered", 0),
        ("tether_relay_sessions_total", 1),
        ("tether_relay_sessions_active", 0),
        (
            "tether_relay_forwarded_bytes_total{direction=\"to_agent\"}",
            TO_AGENT,
        ),
        (
            "tether_relay_forwarded_bytes_total{direction=\"to_viewer\"}",
            TO_VIEWER,
        ),
        (
            "tether_relay_join_failures_total{reason=\"code_already_used\"}",
            1,
        ),
        (
            "tether_relay_join_failures_total{reason=\"unknown_code\"}",
            0,
        ),
        ("tether_relay_rate_limit_hits_total", 0),
        ("tether_relay_audit_rows_dropped_total", 0),
        ("tether_relay_pairing_latency_seconds_count", 1),
        (
            "tether_relay_pairing_latency_seconds_bucket{le=\"+Inf\"}",
            1,
        ),
    ] {
        assert_eq!(after.get(series), Some(&(value as f64)), "{series}");
    }
    let latency = after["tether_relay_pairing_latency_seconds_sum"];
    assert!(latency > 0.0 && latency < 5.0, "{latency}");

    // The audit log can be read while the relay writes it.
    let rows = relay.wait_for_audit("the session's five rows", |rows| rows.len() >= 5);
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
    assert_eq!(rows[0]["nameplate"], session.nameplate.to_string().as_str());
    assert_eq!(rows[4]["session_id"], session.session_id);
    assert_eq!(rows[4]["bytes_to_agent"], TO_AGENT);
    assert_eq!(rows[1]["prev_hash"], rows[0]["hash"]);
}

#[test]
fn rate_limited_joins_are_counted_and_audited() {
    let mut relay = Relay::start(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--join-burst-per-address",
        "1",
        "--join-interval-per-address-ms",
        "3600000",
    ]);
    let nameplate = Nameplate::try_from(123_456).unwrap();
    let answers = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut answers = Vec::new();
        for _ in 0..2 {
            let mut viewer = Client::connect(&relay).await;
            let join = ClientMessage::Join {
                nameplate,
                name: "guesser".to_owned(),
            };
            answers.push(viewer.say(join).await);
            viewer.hang_up().await;
        }
        answers
    });
    assert_eq!(
        answers[0],
        RelayMessage::Refused {
            reason: Refusal::UnknownCode
        }
    );
    assert!(
        matches!(
            answers[1],
            RelayMessage::Refused {
                reason: Refusal::RateLimited { .. }
            }
        ),
        "{answers:?}"
    );

    let scraped = scrape_until(relay.metrics.as_deref().expect("metrics on"), |_| true);
    assert_eq!(scraped["tether_relay_rate_limit_hits_total"], 1.0);
    assert_eq!(
        scraped["tether_relay_join_failures_total{reason=\"rate_limited\"}"],
        1.0
    );
    assert_eq!(
        scraped["tether_relay_join_failures_total{reason=\"unknown_code\"}"],
        1.0
    );
    assert_eq!(scraped["tether_relay_pairing_latency_seconds_count"], 0.0);

    assert_eq!(relay.process.terminate().code(), Some(0));
    let rows = relay.audit_rows();
    for row in &rows {
        assert_eq!(row["kind"], "join_refused", "{row}");
        assert_eq!(row["nameplate"], "123-456", "{row}");
    }
    let reasons: Vec<&str> = rows
        .iter()
        .map(|row| row["reason"].as_str().expect("a reason"))
        .collect();
    assert_eq!(reasons, ["unknown_code", "rate_limited"]);
}
