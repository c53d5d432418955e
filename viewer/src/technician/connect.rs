//! Dialling the organisation's relay as a technician.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use tether_certs::{Credential, OrgTrust};
use tether_proto::control::{ClientMessage, RelayMessage};
use tether_transport::{
    close_and_wait, connect_to_org_relay, open_control, MessageReceiver, MessageSender,
};

use super::{refused::RelayRefused, tls_refusal::explain};

/// Which relay, and the technician's credentials.
#[derive(Debug, Clone, Args)]
pub struct TechnicianArgs {
    /// The organisation's relay, as HOST:PORT; its certificate must be issued by the
    /// organisation's CA for HOST.
    #[arg(long, env = "TETHER_RELAY")]
    pub relay: String,

    /// Your technician certificate (PEM, from `tether-certs technician`)
    /// [default: ~/.config/tether/technician.pem].
    #[arg(long, env = "TETHER_CERT")]
    pub cert: Option<PathBuf>,

    /// Its private key (PEM) [default: ~/.config/tether/technician.key].
    #[arg(long, env = "TETHER_KEY")]
    pub key: Option<PathBuf>,

    /// The organisation's CA certificate (PEM) [default: ~/.config/tether/ca.pem].
    #[arg(long, env = "TETHER_CA")]
    pub ca: Option<PathBuf>,

    /// The organisation's revocation list (PEM, `tether-certs`' crl.pem) [default: crl.pem
    /// beside the CA certificate, if there is one]. Machines whose enrollment the organisation
    /// revoked or superseded are refused by it, whatever the relay says; keep it as current as
    /// the admin publishes it.
    #[arg(long, env = "TETHER_CRL")]
    pub crl: Option<PathBuf>,
}

/// A technician's open control conversation with the relay.
pub struct TechnicianConnection {
    /// The QUIC connection.
    pub connection: quinn::Connection,
    /// Keeps the endpoint alive.
    pub endpoint: quinn::Endpoint,
    /// Sends to the relay.
    pub send: MessageSender<ClientMessage>,
    /// Receives from the relay.
    pub recv: MessageReceiver<RelayMessage>,
    /// The technician's certificate and key.
    pub credential: Credential,
    /// The organisation's CA, and its revocation list if there is one.
    pub trust: OrgTrust,
}

/// How long closing waits for the relay to hear that the connection is closed.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl TechnicianConnection {
    /// Closes the connection and waits (briefly) until the relay was told, so it ends the
    /// session now rather than when the connection would time out.
    pub async fn close(self) {
        close_and_wait(&self.connection, &self.endpoint, b"done", CLOSE_WAIT).await;
    }
}

impl TechnicianArgs {
    fn file(&self, given: &Option<PathBuf>, default: &str) -> PathBuf {
        given.clone().unwrap_or_else(|| {
            dirs::config_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("tether")
                .join(default)
        })
    }

    /// Connects to the relay with the technician's certificate and says hello.
    pub async fn connect(&self) -> anyhow::Result<TechnicianConnection> {
        let (cert, key, ca) = (
            self.file(&self.cert, "technician.pem"),
            self.file(&self.key, "technician.key"),
            self.file(&self.ca, "ca.pem"),
        );
        let credential = Credential::load(&cert, Some(&key))
            .with_context(|| format!("cannot load your certificate {}", cert.display()))?;
        let crl = self.crl.clone().or_else(|| {
            let beside = ca.with_file_name("crl.pem");
            beside.exists().then_some(beside)
        });
        let trust = OrgTrust::load(&ca, crl.as_deref()).with_context(|| match &crl {
            Some(crl) => format!(
                "cannot load the organisation CA {} and its revocation list {}",
                ca.display(),
                crl.display()
            ),
            None => format!("cannot load the organisation CA {}", ca.display()),
        })?;
        let client_auth = (credential.chain().to_vec(), credential.private_key());
        let relay = connect_to_org_relay(&self.relay, trust.server_verifier()?, Some(client_auth))
            .await
            .map_err(|e| anyhow::anyhow!(explain(&e.to_string())))?;
        let software = concat!("tether-viewer ", env!("CARGO_PKG_VERSION"));
        let hello = async {
            let (send, mut recv) = open_control(&relay.connection, software).await?;
            let welcome = recv.recv().await?;
            anyhow::Ok((send, recv, welcome))
        }
        .await;
        // TLS 1.3 lets the client finish its handshake before the relay has checked the
        // client certificate: a refusal shows up as the connection closing here.
        let (send, recv, welcome) =
            hello.map_err(|e| anyhow::anyhow!(explain(&format!("{e:#}"))))?;
        match welcome {
            Some(RelayMessage::Welcome { .. }) => {}
            Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
            other => bail!("unexpected answer from the relay: {other:?}"),
        }
        Ok(TechnicianConnection {
            connection: relay.connection,
            endpoint: relay.endpoint,
            send,
            recv,
            credential,
            trust,
        })
    }
}
