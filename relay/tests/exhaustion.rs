//! Attacks on the relay's resources and records, against the real binary or a real relay on
//! loopback: the audit log's head kept elsewhere catches the removal of its newest rows, and a
//! technician's session ends when the certificate it was opened with expires.

use std::{
    ffi::OsStr,
    net::SocketAddr,
    path::Path,
    process::Command,
    time::{Duration, Instant, SystemTime},
};

use quinn::ConnectionError;
use tether_certs::{pki::Pki, Credential, OrgTrust};
use tether_proto::control::{
    online_proof_message, ClientMessage, RelayMessage, ONLINE_EXPORTER_LABEL, ONLINE_EXPORTER_LEN,
};
use tether_relay::{
    audit::{AuditEvent, AuditStore, Peer, SessionEnd},
    directory::{Directory, NewMachine},
    OrgFiles, Relay, RelayConfig, TlsFiles,
};
use tether_transport::{connect_to_org_relay, open_control, MessageReceiver, MessageSender};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// The relay's close code for a technician whose certificate expired mid-session.
const CLOSE_EXPIRED: u32 = 5;

/// A client's control stream to an organisation's relay, welcomed.
struct OrgClient {
    connection: quinn::Connection,
    _endpoint: quinn::Endpoint,
    send: MessageSender<ClientMessage>,
    recv: MessageReceiver<RelayMessage>,
}

impl OrgClient {
    /// Connects with `credential` as the client certificate, if any.
    async fn connect(relay: &Relay, trust: &OrgTrust, credential: Option<&Credential>) -> Self {
        let client_auth = credential.map(|c| (c.chain().to_vec(), c.private_key()));
        let relay_addr = relay.local_addr().to_string();
        let verifier = trust.server_verifier().expect("verifier");
        let connected = connect_to_org_relay(&relay_addr, verifier, client_auth)
            .await
            .expect("connect");
        let (send, mut recv) = open_control(&connected.connection, "exhaustion-test 0")
            .await
            .expect("control");
        let welcome = recv.recv().await.expect("welcome");
        assert!(
            matches!(welcome, Some(RelayMessage::Welcome { .. })),
            "{welcome:?}"
        );
        Self {
            connection: connected.connection,
            _endpoint: connected.endpoint,
            send,
            recv,
        }
    }

    async fn say(&mut self, message: ClientMessage) -> RelayMessage {
        self.send.send(&message).await.expect("send");
        self.recv.recv().await.expect("receive").expect("a message")
    }
}

/// One metric's current value, scraped over HTTP.
async fn metric(relay: &Relay, name: &str) -> f64 {
    let mut stream = tokio::net::TcpStream::connect(relay.metrics_addr().expect("metrics"))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    response
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing in\n{response}"))
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn a_technicians_session_ends_when_its_certificate_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut pki, _) = Pki::init(
        &dir.path().join("pki"),
        "Example",
        Duration::from_secs(86_400),
    )
    .expect("CA");
    let relay_files = pki
        .issue_relay(&["127.0.0.1".to_owned()], Duration::from_secs(86_400))
        .expect("relay certificate");
    let technician = pki
        .issue_technician("alice", "admin", Duration::from_secs(4))
        .expect("technician certificate");
    let issued_at = Instant::now();
    let (relay_cert, relay_key) = (&relay_files.files[0].path, &relay_files.files[1].path);
    let (cert, key) = (&technician.files[0].path, &technician.files[1].path);

    // An enrolled machine: its key is in the directory the relay opens.
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("relay"));
    config.metrics_listen = Some(([127, 0, 0, 1], 0).into());
    config.tls = Some(TlsFiles {
        cert: relay_cert.clone(),
        key: relay_key.clone(),
    });
    config.organisation = Some(OrgFiles {
        ca: pki.ca_cert_path(),
        crl: pki.crl_path(),
    });
    let (machine_key, _) = tether_e2e::MachineKey::generate().expect("machine key");
    Directory::open(&config.database)
        .expect("directory")
        .enroll(
            NewMachine {
                name: "web-01".to_owned(),
                group: "prod".to_owned(),
                machine_key: machine_key.public_key(),
                enrollment_cert: b"not checked by the relay here".to_vec(),
                endorsement: b"nor this".to_vec(),
                enrollment_serial: "01".to_owned(),
            },
            SystemTime::now(),
        )
        .expect("enroll");
    let database = config.database.clone();
    let relay = Relay::start(config).await.expect("relay");
    let trust = OrgTrust::load(&pki.ca_cert_path(), None).expect("trust");

    let mut machine = OrgClient::connect(&relay, &trust, None).await;
    let mut exported = [0; ONLINE_EXPORTER_LEN];
    machine
        .connection
        .export_keying_material(&mut exported, ONLINE_EXPORTER_LABEL, b"")
        .expect("exporter");
    let proof = machine_key.sign(&online_proof_message("web-01", &exported));
    let online = machine
        .say(ClientMessage::Online {
            machine: "web-01".to_owned(),
            proof,
        })
        .await;
    assert_eq!(online, RelayMessage::Online);

    let credential = Credential::load(cert, Some(key)).expect("credential");
    let mut alice = OrgClient::connect(&relay, &trust, Some(&credential)).await;
    let opened = alice
        .say(ClientMessage::Open {
            machine: "web-01".to_owned(),
        })
        .await;
    assert!(matches!(opened, RelayMessage::Opened { .. }), "{opened:?}");

    let closed = tokio::time::timeout(Duration::from_secs(10), alice.connection.closed())
        .await
        .expect("the relay ends the session");
    let ended_after = issued_at.elapsed();
    let ConnectionError::ApplicationClosed(close) = closed else {
        panic!("expected the relay to close the session, got {closed:?}");
    };
    let reason = String::from_utf8_lossy(&close.reason);
    assert_eq!(close.error_code, CLOSE_EXPIRED.into(), "{reason}");
    assert!(
        reason.starts_with("certificate for alice expired at "),
        "{reason}"
    );
    // Certificates count whole seconds: it expired within a second of its 4 s.
    assert!(
        ended_after > Duration::from_secs(2) && ended_after < Duration::from_secs(6),
        "ended {ended_after:?} after issuance"
    );
    assert_eq!(
        metric(
            &relay,
            "tether_relay_technician_sessions_cut_total{reason=\"expired\"}"
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &relay,
            "tether_relay_technician_sessions_cut_total{reason=\"revoked\"}"
        )
        .await,
        0.0
    );
    machine.connection.close(0u32.into(), b"done");
    relay.shutdown().await;

    let mut ends = Vec::new();
    AuditStore::open_read_only(&database)
        .expect("audit log")
        .for_each_since(i64::MIN, |row| {
            if row.record.kind == "session_ended" {
                ends.push(row.record.reason.clone().unwrap_or_default());
            }
            Ok(())
        })
        .expect("read");
    assert_eq!(ends, ["technician_expired"]);
}
