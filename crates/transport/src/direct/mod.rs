//! The data path, at the viewer and the agent: after the session's handshake, both sides may
//! move the session to a QUIC connection of their own that the relay's data port forwards as
//! datagrams (see [`tether_proto::data_path`]). TLS on it is end to end: each side presents a
//! fresh certificate whose SHA-256 it sent over the sealed session stream, and pins the
//! other's. When anything on the way fails, the session stays on the session stream.

mod bind;
mod pinned;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use quinn::{Connection, Endpoint, EndpointConfig, TokioRuntime};
use tether_proto::data_path::{DataPathTicket, DirectPath};
use tracing::{debug, warn};

pub use bind::{bind, BoundSocket, KeepBound};
pub use pinned::{DirectIdentity, PinnedPeer};

use crate::{
    config::{client_config_with, server_config_with, DEFAULT_IDLE_TIMEOUT},
    SecureStream, TransportError,
};

/// How long the viewer's QUIC handshake through the data port may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the agent waits for the viewer's decision after the offers.
const DECISION_TIMEOUT: Duration = CONNECT_TIMEOUT.saturating_add(Duration::from_secs(2));
/// The name the viewer asks for; the pinned certificate is what is checked.
const SERVER_NAME: &str = "tether-session";

/// The session stream while the data path is negotiated on it.
pub type Negotiation = SecureStream<DirectPath, DirectPath>;

/// A session's own QUIC connection through the relay's data port.
pub struct DirectLink {
    /// The connection, end to end with the peer.
    pub connection: Connection,
    endpoint: Endpoint,
    /// Keeps this side's address bound at the data port while the link lives.
    _bound: KeepBound,
}

impl DirectLink {
    /// Closes the connection. The endpoint's driver sends the close on its own; waiting for
    /// it to drain (three probe timeouts) would only delay the end of the session.
    pub fn close(self) {
        self.connection.close(0u32.into(), b"session over");
        drop(self.endpoint);
    }
}

/// A bound socket (kept bound) and the certificate this side offers.
struct Prepared {
    bound: BoundSocket,
    keep_bound: KeepBound,
    identity: DirectIdentity,
}

/// The viewer's side: offers the data path if the relay gave a `ticket`, connects to the agent
/// through the data port on `relay`'s host if both offered, and tells the agent how that went.
pub async fn viewer_direct(
    negotiation: &mut Negotiation,
    relay: SocketAddr,
    ticket: Option<DataPathTicket>,
) -> Result<Option<DirectLink>, TransportError> {
    let Some((prepared, peer)) = exchange_offers(negotiation, relay, ticket).await? else {
        return Ok(None);
    };
    let link = connect(prepared, peer).await;
    negotiation
        .send
        .send(&DirectPath::Decision {
            direct: link.is_ok(),
        })
        .await?;
    match link {
        Ok(link) => Ok(Some(link)),
        Err(e) => {
            warn!("the data path did not connect ({e}); staying on the relayed stream");
            Ok(None)
        }
    }
}

/// The agent's side: offers the data path if the relay's header gave a `ticket`, and accepts
/// the viewer's connection if the viewer decides for it.
pub async fn agent_direct(
    negotiation: &mut Negotiation,
    relay: SocketAddr,
    ticket: Option<DataPathTicket>,
) -> Result<Option<DirectLink>, TransportError> {
    let Some((prepared, peer)) = exchange_offers(negotiation, relay, ticket).await? else {
        return Ok(None);
    };
    let keep_bound = prepared.keep_bound;
    let endpoint = server_endpoint(prepared.bound, prepared.identity, peer)
        .map_err(|e| warn!("cannot open the data path endpoint: {e}"))
        .ok();
    // The viewer connects before it decides: accept meanwhile.
    let listening = endpoint.clone();
    let accepting = async move {
        let endpoint = listening?;
        loop {
            match endpoint.accept().await?.await {
                Ok(connection) => return Some(connection),
                Err(e) => debug!("data path: a connection attempt failed: {e}"),
            }
        }
    };
    let decision = tokio::time::timeout(DECISION_TIMEOUT, negotiation.recv.recv());
    tokio::pin!(accepting, decision);
    let mut accepted = None;
    let decision = loop {
        tokio::select! {
            connection = &mut accepting, if accepted.is_none() => {
                accepted = Some(connection);
            }
            decision = &mut decision => break decision,
        }
    };
    match decision {
        Ok(Ok(Some(DirectPath::Decision { direct: true }))) => {
            let connection = match accepted {
                Some(connection) => connection,
                None => tokio::time::timeout(CONNECT_TIMEOUT, accepting)
                    .await
                    .ok()
                    .flatten(),
            };
            match (connection, endpoint) {
                (Some(connection), Some(endpoint)) => Ok(Some(DirectLink {
                    connection,
                    endpoint,
                    _bound: keep_bound,
                })),
                _ => Err(TransportError::DirectPath(
                    "the viewer chose the data path, but no connection arrived",
                )),
            }
        }
        Ok(Ok(Some(DirectPath::Decision { direct: false }))) => Ok(None),
        Ok(Ok(_)) => Err(TransportError::DirectPath("expected the viewer's decision")),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(TransportError::DirectPath(
            "the viewer did not decide in time",
        )),
    }
}

/// Binds (if there is a ticket), sends this side's offer and reads the peer's; returns what a
/// connection needs when both offered.
async fn exchange_offers(
    negotiation: &mut Negotiation,
    relay: SocketAddr,
    ticket: Option<DataPathTicket>,
) -> Result<Option<(Prepared, [u8; 32])>, TransportError> {
    let prepared = match ticket {
        Some(ticket) => prepare(relay, &ticket).await,
        None => None,
    };
    let certificate = prepared.as_ref().map(|p| p.identity.fingerprint());
    negotiation
        .send
        .send(&DirectPath::Offer { certificate })
        .await?;
    let peer = match negotiation.recv.recv().await? {
        Some(DirectPath::Offer { certificate }) => certificate,
        _ => return Err(TransportError::DirectPath("expected the peer's offer")),
    };
    Ok(prepared.zip(peer))
}

async fn prepare(relay: SocketAddr, ticket: &DataPathTicket) -> Option<Prepared> {
    let bound = bind(relay, ticket)
        .await
        .map_err(|e| warn!("the data path is unavailable: {e}"))
        .ok()?;
    let keep_bound = bound
        .keep_bound()
        .map_err(|e| warn!("cannot keep the data path bound: {e}"))
        .ok()?;
    let identity = DirectIdentity::generate()
        .map_err(|e| warn!("cannot make a data path certificate: {e}"))
        .ok()?;
    Some(Prepared {
        bound,
        keep_bound,
        identity,
    })
}

async fn connect(prepared: Prepared, peer: [u8; 32]) -> Result<DirectLink, String> {
    let Prepared {
        bound,
        keep_bound,
        identity,
    } = prepared;
    let config = client_config_with(PinnedPeer::new(peer), Some(identity.certified()))
        .map_err(|e| e.to_string())?;
    let endpoint = Endpoint::new(
        EndpointConfig::default(),
        None,
        bound.socket,
        Arc::new(TokioRuntime),
    )
    .map_err(|e| e.to_string())?;
    let connecting = endpoint
        .connect_with(config, bound.data_port, SERVER_NAME)
        .map_err(|e| e.to_string())?;
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| "no answer through the data port".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(DirectLink {
        connection,
        endpoint,
        _bound: keep_bound,
    })
}

fn server_endpoint(
    bound: BoundSocket,
    identity: DirectIdentity,
    peer: [u8; 32],
) -> Result<Endpoint, String> {
    let config = server_config_with(
        identity.certified(),
        Some(PinnedPeer::new(peer)),
        DEFAULT_IDLE_TIMEOUT,
    )
    .map_err(|e| e.to_string())?;
    Endpoint::new(
        EndpointConfig::default(),
        Some(config),
        bound.socket,
        Arc::new(TokioRuntime),
    )
    .map_err(|e| e.to_string())
}
