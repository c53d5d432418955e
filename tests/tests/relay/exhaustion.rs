//! Attacks on the relay's resources and records, against the real binary on loopback: names
//! over their bound end only their connection, a flood of joins leaves the audit log a few
//! rows, a flood of registrations from one network leaves others their codes, the audit log's
//! head kept elsewhere catches the removal of its newest rows, and a technician's session ends
//! when the certificate it was opened with expires or is revoked.

use std::{
    ffi::OsStr,
    net::{IpAddr, SocketAddr},
    path::Path,
    process::Command,
    time::{Duration, Instant, SystemTime},
};

use quinn::ConnectionError;
use serde_json::Value;
use tether_certs::{
    Credential, Fingerprint, OrgTrust, PinnedRelayVerifier, RelayTrust, RELAY_SERVER_NAME,
};
use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage},
    Nameplate,
};
use tether_relay::audit::{AuditEvent, AuditStore, Peer, SessionEnd};
use tether_tests::{
    binary, organisation::Organisation, organisation::TechnicianFiles, output, Process, Relay,
};
use tether_transport::{connect_to_org_relay, open_control, MessageReceiver, MessageSender};

use super::scrape;

/// The relay's close code for a client that broke the protocol.
const CLOSE_PROTOCOL_ERROR: u32 = 1;

/// Runs the relay binary with `args`: its exit code, stdout and stderr.
fn run(args: &[&OsStr]) -> (Option<i32>, String, String) {
    let out = output(Command::new(binary("tether-relay")).args(args));
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

/// The relay's close code for a technician whose certificate was revoked mid-session.
const CLOSE_REVOKED: u32 = 3;
/// The relay's close code for a technician whose certificate expired mid-session.
const CLOSE_EXPIRED: u32 = 5;

/// A client with its control stream open and the relay's welcome read.
struct Client {
    connection: quinn::Connection,
    endpoint: quinn::Endpoint,
    send: MessageSender<ClientMessage>,
    recv: MessageReceiver<RelayMessage>,
}

impl Client {
    /// Connects to an organisation's relay as `technician`.
    async fn org(org: &Organisation, technician: &TechnicianFiles) -> Self {
        let trust = OrgTrust::load(&org.pki().join("ca.pem"), None).expect("trust");
        let credential = Credential::load(technician.cert.as_ref(), Some(technician.key.as_ref()))
            .expect("credential");
        let client_auth = Some((credential.chain().to_vec(), credential.private_key()));
        let verifier = trust.server_verifier().expect("verifier");
        let connected = connect_to_org_relay(&org.relay.addr, verifier, client_auth)
            .await
            .expect("connect");
        Self::hello(connected.endpoint, connected.connection).await
    }

    /// Connects to an attended relay, pinned to its fingerprint, from `source` (an address of
    /// this host).
    async fn to(relay: &Relay, source: IpAddr) -> Self {
        Self::from(addr(relay), fingerprint(relay), source).await
    }

    /// Connects to an attended relay, pinned to `fingerprint`, from `source` (an address of
    /// this host).
    async fn from(relay: SocketAddr, fingerprint: Fingerprint, source: IpAddr) -> Self {
        let mut endpoint = quinn::Endpoint::client(SocketAddr::new(source, 0)).expect("bind");
        let verifier = PinnedRelayVerifier::new(RelayTrust::Pinned(fingerprint));
        endpoint.set_default_client_config(
            tether_transport::config::client_config(verifier).expect("client config"),
        );
        let connection = endpoint
            .connect(relay, RELAY_SERVER_NAME)
            .expect("connect")
            .await
            .expect("handshake");
        Self::hello(endpoint, connection).await
    }

    async fn hello(endpoint: quinn::Endpoint, connection: quinn::Connection) -> Self {
        let (send, mut recv) = open_control(&connection, "exhaustion-test 0")
            .await
            .expect("control");
        let welcome = recv.recv().await.expect("welcome");
        assert!(
            matches!(welcome, Some(RelayMessage::Welcome { .. })),
            "{welcome:?}"
        );
        Self {
            connection,
            endpoint,
            send,
            recv,
        }
    }

    async fn say(&mut self, message: ClientMessage) -> RelayMessage {
        self.send.send(&message).await.expect("send");
        self.recv.recv().await.expect("receive").expect("a message")
    }

    /// Sends `message`, which the relay does not answer but closes the connection for: the
    /// close's reason.
    async fn refused_for(mut self, message: ClientMessage) -> String {
        // The relay may close before all of a long message is sent.
        let _ = self.send.send(&message).await;
        let closed = tokio::time::timeout(Duration::from_secs(5), self.connection.closed())
            .await
            .expect("the relay closes the connection");
        self.endpoint.wait_idle().await;
        match closed {
            ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, CLOSE_PROTOCOL_ERROR.into(), "{close:?}");
                String::from_utf8_lossy(&close.reason).into_owned()
            }
            other => panic!("expected the relay to close the connection, got {other:?}"),
        }
    }

    /// Closes the connection and waits until the relay has been told.
    async fn hang_up(self) {
        self.connection.close(0u32.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}

/// One metric's current value, scraped over HTTP.
async fn metric(relay: &Relay, name: &str) -> f64 {
    let metrics = relay.metrics.clone().expect("a metrics endpoint");
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || scrape::metric(&metrics, &name))
        .await
        .expect("scrape")
}

/// Where the relay listens.
fn addr(relay: &Relay) -> SocketAddr {
    relay.addr.parse().expect("the relay's address")
}

/// The relay's certificate fingerprint.
fn fingerprint(relay: &Relay) -> Fingerprint {
    relay.fingerprint.parse().expect("the relay's fingerprint")
}

/// The relay's audit log.
fn database(relay: &Relay) -> std::path::PathBuf {
    Path::new(&relay.data_dir()).join("relay.db")
}

/// Stops the relay (SIGTERM) and waits until it has exited cleanly.
fn stop(relay: &mut Relay) {
    assert_eq!(
        relay.process.terminate().code(),
        Some(0),
        "the relay's exit"
    );
}

/// A string field of an audit row (`None` when it has none).
fn field<'a>(row: &'a Value, name: &str) -> Option<&'a str> {
    row[name].as_str()
}

/// An organisation's relay with machine web-01 online and technician alice, whose certificate
/// is valid for `valid_for`, in a session with it.
struct OrgSession {
    org: Organisation,
    machine: Process,
    alice: Client,
    /// When alice's certificate was issued.
    issued_at: Instant,
}

async fn org_session(valid_for: &str) -> OrgSession {
    let org = Organisation::with_relay_args(&["--metrics-listen", "127.0.0.1:0"]);
    // An enrolled machine, online.
    let machine = org.machine("web-01", "prod");
    let technician = org.technician("alice", "admin", valid_for);
    let issued_at = Instant::now();

    let mut alice = Client::org(&org, &technician).await;
    let opened = alice
        .say(ClientMessage::Open {
            machine: "web-01".to_owned(),
        })
        .await;
    assert!(matches!(opened, RelayMessage::Opened { .. }), "{opened:?}");
    OrgSession {
        org,
        machine,
        alice,
        issued_at,
    }
}

impl OrgSession {
    /// Waits (at most 10 s) for the relay to close alice's connection: the code and reason.
    async fn alice_cut_off(&self) -> (u32, String) {
        let closed = tokio::time::timeout(Duration::from_secs(10), self.alice.connection.closed())
            .await
            .expect("the relay ends the session");
        let ConnectionError::ApplicationClosed(close) = closed else {
            panic!("expected the relay to close the session, got {closed:?}");
        };
        let code = u32::try_from(close.error_code.into_inner()).expect("a relay code");
        (code, String::from_utf8_lossy(&close.reason).into_owned())
    }

    /// `technician_sessions_cut_total` by reason: revoked, then expired.
    async fn cuts(&self) -> (f64, f64) {
        let cut = |reason: &str| {
            format!("tether_relay_technician_sessions_cut_total{{reason=\"{reason}\"}}")
        };
        (
            metric(&self.org.relay, &cut("revoked")).await,
            metric(&self.org.relay, &cut("expired")).await,
        )
    }

    /// Stops the machine and the relay: the reasons of the `session_ended` rows.
    fn session_ends(mut self) -> Vec<String> {
        self.machine.terminate();
        stop(&mut self.org.relay);
        self.org
            .relay
            .audit_rows()
            .iter()
            .filter(|row| row["kind"] == "session_ended")
            .filter_map(|row| field(row, "reason").map(str::to_owned))
            .collect()
    }
}

#[tokio::test]
async fn a_technicians_session_ends_when_its_certificate_expires() {
    let session = org_session("4s").await;
    let (code, reason) = session.alice_cut_off().await;
    let ended_after = session.issued_at.elapsed();
    assert_eq!(code, CLOSE_EXPIRED, "{reason}");
    assert!(
        reason.starts_with("certificate for alice expired at "),
        "{reason}"
    );
    // Certificates count whole seconds: it expired within a second of its 4 s.
    assert!(
        ended_after > Duration::from_secs(2) && ended_after < Duration::from_secs(6),
        "ended {ended_after:?} after issuance"
    );
    assert_eq!(session.cuts().await, (0.0, 1.0));
    assert_eq!(session.session_ends(), ["technician_expired"]);
}

#[tokio::test]
async fn a_technicians_session_ends_when_its_certificate_is_revoked_and_says_so() {
    let session = org_session("1d").await;
    session.org.certs(&["revoke", "alice"]);
    let (code, reason) = session.alice_cut_off().await;
    assert_eq!(code, CLOSE_REVOKED, "{reason}");
    assert_eq!(reason, "certificate for alice was revoked");
    assert_eq!(session.cuts().await, (1.0, 0.0));
    assert_eq!(session.session_ends(), ["technician_revoked"]);
}

/// A relay listening on `listen` (an address of loopback, port 0) with its metrics endpoint
/// on, and `extra` flags.
fn start_relay(listen: &str, extra: &[&str]) -> Relay {
    let mut args = vec!["--metrics-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Relay::start_on(listen, &args)
}

/// The audit log's rows, once the relay is gone.
fn audit_rows(relay: &Relay) -> Vec<Value> {
    relay.audit_rows()
}

/// Bytes the database takes on disk, its write-ahead log included.
fn database_bytes(database: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut path = database.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(path).ok()
        })
        .map(|metadata| metadata.len())
        .sum()
}

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// Where the IPv4 relays listen.
const LISTEN: &str = "127.0.0.1:0";

#[tokio::test]
async fn names_over_their_bound_end_only_their_connection_with_a_precise_reason() {
    let mut relay = start_relay(LISTEN, &[]);

    // A name the 4 MiB session limit would let through: its frame is refused from its length.
    let huge = Client::to(&relay, LOOPBACK).await;
    let reason = huge
        .refused_for(ClientMessage::Register {
            name: "x".repeat(4 * 1024 * 1024 - 64),
            auto_accept: false,
        })
        .await;
    assert!(
        reason.contains("bytes exceeds the 65536-byte limit"),
        "{reason}"
    );
    // Names that fit a control message: refused at decode, naming the bound.
    for long in [
        ClientMessage::Join {
            nameplate: Nameplate::try_from(123_456).expect("nameplate"),
            name: "y".repeat(200),
        },
        ClientMessage::Open {
            machine: "z".repeat(60_000),
        },
    ] {
        let client = Client::to(&relay, LOOPBACK).await;
        let reason = client.refused_for(long).await;
        assert!(
            reason.starts_with("malformed message: a name of ")
                && reason.ends_with(" bytes exceeds its 128-byte bound"),
            "{reason}"
        );
    }
    // Meanwhile the relay serves everyone else.
    let mut agent = Client::to(&relay, LOOPBACK).await;
    let registered = agent
        .say(ClientMessage::Register {
            name: "n".repeat(128),
            auto_accept: false,
        })
        .await;
    assert!(
        matches!(registered, RelayMessage::Registered { .. }),
        "{registered:?}"
    );
    let refusals = |limit: &str| format!("tether_relay_limit_refusals_total{{limit=\"{limit}\"}}");
    assert_eq!(metric(&relay, &refusals("control_message_size")).await, 1.0);
    assert_eq!(metric(&relay, &refusals("control_field_size")).await, 2.0);
    agent.hang_up().await;
    stop(&mut relay);
    let rows = audit_rows(&relay);
    let kinds: Vec<&str> = rows.iter().filter_map(|row| field(row, "kind")).collect();
    assert_eq!(kinds, ["nameplate_issued", "nameplate_withdrawn"]);
}

/// `joins` viewers from `source`, each with `name`, try nameplate 123-456, `at_once` at a time.
async fn join_flood(relay: &Relay, source: IpAddr, name: &str, joins: usize, at_once: usize) {
    let (addr, fingerprint) = (addr(relay), fingerprint(relay));
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(at_once));
    let mut tasks = Vec::new();
    for _ in 0..joins {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let name = name.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut viewer = Client::from(addr, fingerprint, source).await;
            let join = ClientMessage::Join {
                nameplate: Nameplate::try_from(123_456).expect("nameplate"),
                name,
            };
            // A long name's message is refused before it is all sent.
            if viewer.send.send(&join).await.is_ok() {
                let _ = viewer.recv.recv().await;
            }
            viewer.hang_up().await;
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.expect("viewer");
    }
}

#[tokio::test]
async fn a_flood_of_joins_leaves_the_audit_log_a_few_small_rows() {
    // The database as a relay that saw nothing leaves it, then the same relay flooded.
    let mut relay = start_relay(LISTEN, &[]);
    let database = database(&relay);
    stop(&mut relay);
    let before = database_bytes(&database);
    relay.start_again();
    // Names of 100 kB, as in the review: refused at decode, so recorded nowhere.
    join_flood(&relay, LOOPBACK, &"x".repeat(100_000), 1000, 32).await;
    // Names at their bound: 20 guesses pass the rate limit; the rest are one row and a count.
    join_flood(&relay, LOOPBACK, &"x".repeat(128), 1000, 32).await;
    let failures =
        |reason: &str| format!("tether_relay_join_failures_total{{reason=\"{reason}\"}}");
    let guesses = metric(&relay, &failures("unknown_code")).await as usize;
    let limited = metric(&relay, &failures("rate_limited")).await as usize;
    assert_eq!(guesses + limited, 1000);
    // 20 at once, and one more per 3 s the flood lasts.
    assert!((20..=25).contains(&guesses), "{guesses} guesses passed");
    stop(&mut relay);
    let rows = audit_rows(&relay);
    let grown = database_bytes(&database) - before;
    eprintln!(
        "2000 joins: {} audit rows, the database grew by {grown} bytes",
        rows.len()
    );
    let reasons: Vec<&str> = rows.iter().filter_map(|row| field(row, "reason")).collect();
    assert_eq!(reasons.len(), guesses + 2, "{reasons:?}");
    assert_eq!(
        reasons.iter().filter(|&&r| r == "unknown_code").count(),
        guesses
    );
    assert!(reasons.contains(&"rate_limited"));
    let summary = format!(
        "join_refused rate_limited: {} more within a minute, not recorded one by one",
        limited - 1
    );
    assert!(reasons.contains(&summary.as_str()), "{reasons:?}");
    assert!(
        rows.iter()
            .all(|row| field(row, "viewer_name").is_none_or(|name| name.len() <= 128)),
        "names bounded"
    );
    assert!(grown < 64 * 1024, "the database grew by {grown} bytes");
}

/// Registers `agents` agents from `sources` (in turn), then one from `other`: the answers to
/// the flood, and the other network's.
async fn registration_flood(
    relay: &Relay,
    sources: &[IpAddr],
    agents: usize,
    other: IpAddr,
) -> (Vec<RelayMessage>, RelayMessage) {
    let register = |name: &str| ClientMessage::Register {
        name: name.to_owned(),
        auto_accept: false,
    };
    let mut holding = Vec::new();
    let mut answers = Vec::new();
    for source in sources.iter().cycle().take(agents) {
        let mut agent = Client::to(relay, *source).await;
        answers.push(agent.say(register("flood")).await);
        holding.push(agent);
    }
    let mut desk = Client::to(relay, other).await;
    let answer = desk.say(register("desk")).await;
    holding.push(desk);
    for agent in holding {
        agent.hang_up().await;
    }
    (answers, answer)
}

/// The relay's flags for the registration floods: 8 codes per network.
const EIGHT_CODES_PER_NETWORK: [&str; 4] = [
    "--max-registrations-per-network",
    "8",
    "--max-registrations",
    "1000",
];

/// How many of `answers` are codes, and how many are refusals for the network's cap.
fn issued_and_refused(answers: &[RelayMessage]) -> (usize, usize) {
    let busy = RelayMessage::Refused {
        reason: Refusal::NetworkBusy,
    };
    let issued = answers
        .iter()
        .filter(|answer| matches!(answer, RelayMessage::Registered { .. }))
        .count();
    (issued, answers.iter().filter(|&a| *a == busy).count())
}

#[tokio::test]
async fn a_registration_flood_from_one_address_leaves_other_addresses_their_codes() {
    let mut relay = start_relay(LISTEN, &EIGHT_CODES_PER_NETWORK);
    let flooding: IpAddr = [127, 0, 0, 2].into();
    let (answers, other) = registration_flood(&relay, &[flooding], 30, [127, 0, 0, 3].into()).await;
    assert_eq!(issued_and_refused(&answers), (8, 22));
    assert!(
        matches!(other, RelayMessage::Registered { .. }),
        "{other:?}"
    );
    assert_eq!(
        metric(
            &relay,
            "tether_relay_limit_refusals_total{limit=\"registrations_per_network\"}"
        )
        .await,
        22.0
    );
    stop(&mut relay);
    let refusals: Vec<_> = audit_rows(&relay)
        .into_iter()
        .filter(|row| field(row, "kind").is_some_and(|kind| kind.contains("refus")))
        .collect();
    assert_eq!(refusals.len(), 2, "one refusal and a count: {refusals:?}");
    assert_eq!(field(&refusals[0], "agent_name"), None, "no name kept");
    assert_eq!(field(&refusals[1], "agent_addr"), Some("127.0.0.2"));
}

#[tokio::test]
#[ignore = "needs fd00:7e7e::1 to fd00:7e7e::10 and fd00:7e7f::1 on lo; as root: \
            for i in $(seq 1 16); do ip -6 addr add fd00:7e7e::$(printf %x $i)/128 dev lo; \
            done; ip -6 addr add fd00:7e7f::1/128 dev lo"]
async fn a_registration_flood_from_one_ipv6_64_leaves_other_networks_their_codes() {
    let mut relay = start_relay("[::1]:0", &EIGHT_CODES_PER_NETWORK);
    let flooding: Vec<IpAddr> = (1..=16u16)
        .map(|host| IpAddr::from([0xfd00, 0x7e7e, 0, 0, 0, 0, 0, host]))
        .collect();
    let other = IpAddr::from([0xfd00, 0x7e7f, 0, 0, 0, 0, 0, 1]);
    let (answers, other) = registration_flood(&relay, &flooding, 32, other).await;
    assert_eq!(issued_and_refused(&answers), (8, 24));
    assert!(
        matches!(other, RelayMessage::Registered { .. }),
        "{other:?}"
    );
    stop(&mut relay);
    let summary = audit_rows(&relay)
        .into_iter()
        .find(|row| row["kind"] == "refusals_summarized")
        .expect("a summary row");
    assert_eq!(field(&summary, "agent_addr"), Some("fd00:7e7e::/64"));
}
