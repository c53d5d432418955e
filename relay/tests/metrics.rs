//! The metrics endpoint, scraped over HTTP after real sessions: the relay binary with
//! `--metrics-listen`, and the relay as a library with tight join limits.

mod support;

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::Command,
    time::{Duration, Instant},
};

use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage},
    Nameplate,
};
use tether_relay::{audit::AuditStore, JoinLimits, Relay, RelayConfig};

/// An HTTP/1.1 GET: the status code, the headers and the body.
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// The samples of a text exposition, by `name{labels}`.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse().unwrap()))
        .collect()
}

/// Scrapes until `settled` holds (connection tasks finish a moment after the clients see the
/// end), at most a few seconds.
fn scrape_until(
    addr: &str,
    settled: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, head, body) = get(addr, "/metrics");
        assert_eq!(status, 200);
        assert!(head.contains("application/openmetrics-text"), "{head}");
        let samples = samples(&body);
        if settled(&samples) || Instant::now() > deadline {
            return samples;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_session_shows_in_the_metrics_of_the_relay_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = support::RunningRelay::start(
        &dir.path().join("relay"),
        &["--metrics-listen", "127.0.0.1:0"],
    );
    let (addr, fingerprint) = (relay.addr.clone(), relay.fingerprint);
    let metrics = relay.line().strip_prefix("metrics on ").unwrap().to_owned();
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
        .block_on(support::one_session(&addr, fingerprint, dir.path()));

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
            support::TO_AGENT,
        ),
        (
            "tether_relay_forwarded_bytes_total{direction=\"to_viewer\"}",
            support::TO_VIEWER,
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
    let rows = audit_json_until(dir.path(), 5);
    let kinds: Vec<&str> = rows
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
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
    assert_eq!(rows[0]["nameplate"], session.nameplate.to_string());
    assert_eq!(rows[4]["session_id"], session.session_id);
    assert_eq!(rows[4]["bytes_to_agent"], support::TO_AGENT);
    assert_eq!(rows[1]["prev_hash"], rows[0]["hash"]);
}

/// `tether-relay audit --json` on the relay's data directory, until it shows `rows` rows (the
/// writer thread lags the events by a moment).
fn audit_json_until(data_dir: &std::path::Path, rows: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
            .args(["audit", "--json", "--data-dir"])
            .arg(data_dir.join("relay"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        if parsed.len() >= rows || Instant::now() > deadline {
            return parsed;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn rate_limited_joins_are_counted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("relay"));
    config.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.join_limits = JoinLimits {
        per_address_burst: 1,
        per_address_interval: Duration::from_secs(3600),
        ..JoinLimits::default()
    };
    let database = config.database.clone();
    let relay = Relay::start(config).await.unwrap();
    let addr = relay.local_addr().to_string();
    let known = dir.path().join("known_relays");
    let nameplate = Nameplate::try_from(123_456).unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut viewer = support::Client::connect(&addr, relay.fingerprint(), &known).await;
        let join = ClientMessage::Join {
            nameplate,
            name: "guesser".to_owned(),
        };
        answers.push(viewer.say(join).await);
        viewer.hang_up().await;
    }
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

    let metrics = relay.metrics_addr().unwrap().to_string();
    let scraped = tokio::task::spawn_blocking(move || scrape_until(&metrics, |_| true))
        .await
        .unwrap();
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

    relay.shutdown().await;
    let mut reasons = Vec::new();
    AuditStore::open_read_only(&database)
        .unwrap()
        .for_each_since(i64::MIN, |row| {
            assert_eq!(row.record.kind, "join_refused");
            assert_eq!(row.record.nameplate.as_deref(), Some("123-456"));
            reasons.push(row.record.reason.clone().unwrap());
            Ok(())
        })
        .unwrap();
    assert_eq!(reasons, ["unknown_code", "rate_limited"]);
}
