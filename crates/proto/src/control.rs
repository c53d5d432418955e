//! The control conversation between a client (agent or viewer) and the relay.
//!
//! The client opens the connection's first bidirectional stream and sends [`ClientMessage`]s;
//! the relay answers with [`RelayMessage`]s on the same stream.

use serde::{Deserialize, Serialize};

use crate::{bounds, data_path::DataPathTicket, Nameplate};

/// Largest client → relay message, in bytes. With its fields within their [`bounds`], every
/// request is at most about a kilobyte; the rest is room for later ones. (The 4 MiB of
/// [`crate::MAX_MESSAGE_SIZE`] is for session streams.) A relay reads at most this much from a
/// client that has not authenticated in any way.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Largest relay → client message, in bytes: a revocation list (up to
/// [`bounds::MAX_CRL_LEN`]) or a long list of machines needs more than a request does.
pub const MAX_RELAY_MESSAGE: usize = crate::MAX_MESSAGE_SIZE;

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message of every connection.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// Free-form software name and version, for the relay's logs.
        #[serde(deserialize_with = "bounds::name")]
        software: String,
    },
    /// Agent: ask for a nameplate (the relay's half of a one-time session code) and wait for a
    /// viewer.
    Register {
        /// How the machine presents itself to the technician (e.g. its host name).
        #[serde(deserialize_with = "bounds::name")]
        name: String,
        /// Whether the agent admits technicians without asking its user (`--auto-accept`),
        /// so the relay's audit log records it: consent itself happens end to end, where the
        /// relay cannot see it.
        auto_accept: bool,
    },
    /// Viewer: join the agent waiting under `nameplate`. (The code's secret half never goes
    /// to the relay; it authenticates the end-to-end handshake.)
    Join {
        /// The first half of the code the user read out.
        nameplate: Nameplate,
        /// How the technician presents itself to the user.
        #[serde(deserialize_with = "bounds::name")]
        name: String,
    },
    /// Agent, on a connection authenticated with an enrollment credential (a client
    /// certificate from the organisation's CA): record this machine and its key. The
    /// credential works once.
    Enroll {
        /// The machine's name; must be the one the credential was issued for.
        #[serde(deserialize_with = "bounds::name")]
        machine: String,
        /// The machine's ed25519 public key: its identity from now on.
        machine_key: [u8; 32],
        /// The credential's signature over the machine's name and key, which viewers verify
        /// against the organisation's CA (so the relay alone cannot vouch for a machine key).
        #[serde(
            serialize_with = "serde_bytes::serialize",
            deserialize_with = "bounds::signature"
        )]
        endorsement: Vec<u8>,
    },
    /// Enrolled agent: keep this machine reachable for technicians' shells.
    Online {
        /// The enrolled machine's name.
        #[serde(deserialize_with = "bounds::name")]
        machine: String,
        /// The machine key's signature over this TLS connection's exported keying material
        /// (see [`online_proof_message`]): proves the key is here, now, on this connection.
        #[serde(
            serialize_with = "serde_bytes::serialize",
            deserialize_with = "bounds::signature"
        )]
        proof: Vec<u8>,
    },
    /// Technician (with a client certificate): which machines may I reach?
    ListMachines,
    /// Technician (with a client certificate): open a session with an enrolled machine.
    /// Each stream the viewer then opens is forwarded to the machine.
    Open {
        /// The machine's name.
        #[serde(deserialize_with = "bounds::name")]
        machine: String,
    },
    /// Viewer, on a new connection after its last one was lost mid-session: take the session
    /// back. The relay checks the ticket; the agent then checks, end to end, that this is the
    /// same viewer (see [`crate::secure::Handshake::Resume`]).
    Resume {
        /// The session to take back.
        session_id: u64,
        /// The ticket of the relay's last [`RelayMessage::Resumable`].
        ticket: ResumeTicket,
    },
    /// Agent or viewer, during a session, just before it ends the session end to end (its
    /// authenticated close) and hangs up: why. The relay records it as this party's claim and
    /// tells the other side the same reason; it accepts only the sender's own reason, from the
    /// agent [`EndReason::UserEnded`] and from a viewer [`EndReason::TechnicianEnded`].
    Leaving {
        /// Why this side ends the session.
        reason: EndReason,
    },
}

/// A relay's one-time proof that a connection may take a suspended session back. It only
/// convinces the relay: the agent accepts the viewer back only after an end-to-end proof.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeTicket(pub [u8; 32]);

impl std::fmt::Debug for ResumeTicket {
    /// Never the bytes: the ticket is a bearer secret for the relay.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeTicket(..)")
    }
}

/// The label and length of the TLS keying material an [`ClientMessage::Online`] proof signs.
pub const ONLINE_EXPORTER_LABEL: &[u8] = b"EXPORTER-tether/1 machine online";
/// Bytes of keying material exported for an online proof.
pub const ONLINE_EXPORTER_LEN: usize = 32;

/// What a machine key signs to prove it is online on one TLS connection: a domain separator
/// and the connection's exported keying material, which no other connection shares.
pub fn online_proof_message(machine: &str, exported: &[u8]) -> Vec<u8> {
    let mut message = b"tether/1 machine online\0".to_vec();
    message.extend_from_slice(machine.as_bytes());
    message.push(0);
    message.extend_from_slice(exported);
    message
}

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayMessage {
    /// Answer to [`ClientMessage::Hello`].
    Welcome {
        /// The relay's [`crate::PROTOCOL_VERSION`].
        version: u16,
    },
    /// Agent: your nameplate; it is valid once, for `expires_in_secs` seconds. The agent
    /// completes it with its own secret into the code it shows the user.
    Registered {
        /// The relay's half of the one-time code.
        nameplate: Nameplate,
        /// Seconds until the code expires unused.
        expires_in_secs: u32,
    },
    /// Both sides: the session is established; forwarded streams follow.
    Paired {
        /// The relay's identifier for this session (also in every [`StreamHeader`]).
        session_id: u64,
        /// The other side's self-declared name.
        #[serde(deserialize_with = "bounds::name")]
        peer: String,
    },
    /// The request was refused; the relay closes the connection after it. (A client that breaks
    /// the protocol gets no message: its connection is closed with the error as the reason.)
    Refused {
        /// Why.
        reason: Refusal,
    },
    /// The session is over.
    Ended {
        /// Why.
        reason: EndReason,
    },
    /// Answer to [`ClientMessage::Enroll`]: the machine is recorded.
    Enrolled {
        /// The machine's name.
        #[serde(deserialize_with = "bounds::name")]
        machine: String,
        /// The group the credential put it in.
        #[serde(deserialize_with = "bounds::name")]
        group: String,
    },
    /// Answer to [`ClientMessage::Online`]: technicians can reach the machine now.
    Online,
    /// Answer to [`ClientMessage::ListMachines`]: what the technician may reach.
    Machines {
        /// The machines, by name.
        machines: Vec<MachineSummary>,
    },
    /// Answer to [`ClientMessage::Open`]: the session is open; forwarded streams follow.
    Opened {
        /// The relay's identifier for this session (also in every [`StreamHeader`]).
        session_id: u64,
        /// Who to expect at the other end, as enrolled. The viewer checks the endorsement
        /// against the organisation's CA before trusting the key.
        machine: MachineIdentity,
        /// The viewer's half of the session's data path, if the relay has a data port.
        data_path: Option<DataPathTicket>,
    },
    /// Viewer, after [`RelayMessage::Paired`] or [`RelayMessage::Resumed`]: if this connection
    /// is lost (not closed), a new one may take the session back with
    /// [`ClientMessage::Resume`] and this ticket within `grace_secs`. Each ticket works once;
    /// the relay sends none when it does not hold sessions for lost viewers.
    Resumable {
        /// The ticket to present.
        ticket: ResumeTicket,
        /// Seconds the relay keeps the session for a lost viewer.
        grace_secs: u32,
    },
    /// Answer to [`ClientMessage::Resume`]: the session is this connection's now; forwarded
    /// streams follow, and a new [`RelayMessage::Resumable`].
    Resumed,
    /// Agent: the viewer's connection was lost (not closed); the relay keeps the session for
    /// `grace_secs` in case the viewer comes back on a new stream. [`RelayMessage::Ended`]
    /// follows if it does not.
    Suspended {
        /// Seconds the viewer has to come back.
        grace_secs: u32,
    },
    /// Machine, after [`RelayMessage::Online`] and whenever the relay reloads it: the
    /// organisation's revocation list as its CA signed it (DER). The machine takes it only if
    /// the CA's signature holds and it is newer than its own, then refuses the technicians it
    /// revokes by itself, whatever the relay says.
    Revocations {
        /// The CRL.
        #[serde(
            serialize_with = "serde_bytes::serialize",
            deserialize_with = "bounds::crl"
        )]
        crl: Vec<u8>,
    },
}

/// One machine in a [`RelayMessage::Machines`] list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineSummary {
    /// Its name.
    #[serde(deserialize_with = "bounds::name")]
    pub name: String,
    /// Its group.
    #[serde(deserialize_with = "bounds::name")]
    pub group: String,
    /// Whether its agent is connected now.
    pub online: bool,
    /// Seconds since its agent was last connected, if it ever was.
    pub last_seen_secs_ago: Option<u64>,
}

/// An enrolled machine's identity, as its enrollment recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineIdentity {
    /// Its name.
    #[serde(deserialize_with = "bounds::name")]
    pub name: String,
    /// Its group.
    #[serde(deserialize_with = "bounds::name")]
    pub group: String,
    /// Its ed25519 public key.
    pub machine_key: [u8; 32],
    /// The enrollment certificate (DER) that endorsed the key.
    #[serde(
        serialize_with = "serde_bytes::serialize",
        deserialize_with = "bounds::certificate"
    )]
    pub enrollment_cert: Vec<u8>,
    /// The enrollment credential's signature over the name and key.
    #[serde(
        serialize_with = "serde_bytes::serialize",
        deserialize_with = "bounds::signature"
    )]
    pub endorsement: Vec<u8>,
}

/// Why the relay refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The client speaks another protocol version.
    VersionMismatch {
        /// The relay's version.
        relay: u16,
    },
    /// No agent holds this code.
    UnknownCode,
    /// The code expired before it was used.
    ExpiredCode,
    /// The code was already used by another viewer.
    CodeAlreadyUsed,
    /// Too many join attempts from this network (or in total): wait before trying again.
    RateLimited {
        /// Seconds until an attempt will be accepted again.
        retry_after_secs: u32,
    },
    /// The relay has no free nameplate to issue right now.
    Busy,
    /// The relay has no organisation CA configured, so it serves attended sessions only.
    UnattendedDisabled,
    /// The request needs a technician's client certificate and the connection has none.
    TechnicianCertificateRequired,
    /// Enrollment needs an enrollment credential's client certificate for this machine.
    EnrollmentCredentialRequired,
    /// The enrollment credential was already used.
    CredentialUsed,
    /// No machine of that name is enrolled (or its key does not match).
    NotEnrolled,
    /// The machine is enrolled but its agent is not connected.
    MachineOffline,
    /// The access policy does not let this technician's role reach this machine.
    NotPermitted,
    /// No session of that id waits for this ticket (wrong ticket, or an unknown session).
    ResumeInvalid,
    /// The session waited for its viewer's return for the whole grace period and has ended.
    ResumeExpired,
    /// As many agents from the client's network (its IPv4 address, or its IPv6 /64) wait with
    /// a code as the relay allows one network: one network cannot take the codes of all.
    NetworkBusy,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::VersionMismatch { relay } => {
                write!(
                    f,
                    "protocol version mismatch (relay speaks version {relay})"
                )
            }
            Refusal::UnknownCode => f.write_str("unknown session code: check the digits"),
            Refusal::ExpiredCode => f.write_str("session code expired: ask for a new one"),
            Refusal::CodeAlreadyUsed => f.write_str("session code already used: ask for a new one"),
            Refusal::RateLimited { retry_after_secs } => write!(
                f,
                "too many join attempts: try again in {retry_after_secs} s"
            ),
            Refusal::Busy => f.write_str("the relay has no free session code: try again later"),
            Refusal::UnattendedDisabled => f.write_str(
                "this relay has no organisation CA configured: it serves attended sessions only",
            ),
            Refusal::TechnicianCertificateRequired => {
                f.write_str("this needs a technician certificate (--cert and --key)")
            }
            Refusal::EnrollmentCredentialRequired => {
                f.write_str("enrollment needs the enrollment credential issued for this machine")
            }
            Refusal::CredentialUsed => f.write_str(
                "this enrollment credential was already used: issue a new one for the machine",
            ),
            Refusal::NotEnrolled => {
                f.write_str("no such enrolled machine (or its key does not match the enrollment)")
            }
            Refusal::MachineOffline => f.write_str("the machine is enrolled but not online"),
            Refusal::NotPermitted => {
                f.write_str("the access policy does not let your role reach this machine")
            }
            Refusal::ResumeInvalid => {
                f.write_str("the relay does not recognise this session's resume ticket")
            }
            Refusal::ResumeExpired => {
                f.write_str("too late to resume: the session ended when its grace period ran out")
            }
            Refusal::NetworkBusy => {
                f.write_str("too many session codes are waiting from your network: try again later")
            }
        }
    }
}

/// Why a session ended: told by the relay to the side that remains, and claimed by the side
/// that ends it ([`ClientMessage::Leaving`]). Each reads the same everywhere: on the agent's
/// screen, in the viewer's output and, as its label, in the relay's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    /// The agent closed its connection without saying why.
    AgentDisconnected,
    /// The viewer closed its connection without saying why.
    ViewerDisconnected,
    /// The relay is shutting down.
    RelayShutdown,
    /// The agent's code expired before a viewer joined.
    CodeExpired,
    /// The user ended the session at the agent (Enter, the End session button, or a signal
    /// to the agent).
    UserEnded,
    /// The technician ended the session at the viewer.
    TechnicianEnded,
    /// The agent's connection was lost (it timed out or was reset): the user's network dropped.
    AgentLost,
    /// The viewer's connection was lost, and the technician did not come back in time.
    ViewerLost,
}

impl std::fmt::Display for EndReason {
    /// The reason in words for the technician (the agent says "you" for its user).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndReason::AgentDisconnected => "the agent disconnected",
            EndReason::ViewerDisconnected => "the viewer disconnected",
            EndReason::RelayShutdown => "the relay shut down",
            EndReason::CodeExpired => "the session code expired",
            EndReason::UserEnded => "the user ended the session",
            EndReason::TechnicianEnded => "the technician ended the session",
            EndReason::AgentLost => "the user's connection was lost",
            EndReason::ViewerLost => "the technician's connection was lost",
        })
    }
}

/// Relay → agent, once at the start of every stream the relay forwards from a viewer. Every byte
/// after it is the viewer's, copied verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// The session the stream belongs to.
    pub session_id: u64,
    /// The agent's half of the session's data path, if the relay offers one (technician
    /// sessions on a relay with a data port).
    pub data_path: Option<DataPathTicket>,
}
