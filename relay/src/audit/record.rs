//! What one audit row says: the event, as a flat record whose fields map one to one onto the
//! table's columns (and onto the chain's canonical encoding).

use std::{
    net::SocketAddr,
    time::{Duration, SystemTime},
};

use serde::Serialize;
use tether_proto::{control::Refusal, Nameplate};

use super::sampler::{SampleKey, Side, Summary};
use crate::{
    network::Network,
    session::{Peer, SessionEnd, SessionEnded},
};

/// Longest text a row stores from a client or a certificate, in bytes: longer text (which the
/// protocol's bounds already refuse for names) is cut, with `…` at the end.
pub const MAX_TEXT: usize = 256;

/// A refusal as stored in the audit log and used as a metric label.
pub fn refusal_label(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::VersionMismatch { .. } => "version_mismatch",
        Refusal::UnknownCode => "unknown_code",
        Refusal::ExpiredCode => "expired_code",
        Refusal::CodeAlreadyUsed => "code_already_used",
        Refusal::RateLimited { .. } => "rate_limited",
        Refusal::Busy => "busy",
        Refusal::UnattendedDisabled => "unattended_disabled",
        Refusal::TechnicianCertificateRequired => "technician_certificate_required",
        Refusal::EnrollmentCredentialRequired => "enrollment_credential_required",
        Refusal::CredentialUsed => "credential_used",
        Refusal::NotEnrolled => "not_enrolled",
        Refusal::MachineOffline => "machine_offline",
        Refusal::NotPermitted => "not_permitted",
        Refusal::ResumeInvalid => "resume_invalid",
        Refusal::ResumeExpired => "resume_expired",
        Refusal::NetworkBusy => "network_busy",
    }
}

/// A session event the relay witnessed. None carries session content (the relay cannot read
/// it) or the code's secret half (the relay never sees it); nameplates are only locators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEvent {
    /// An agent registered and was given a nameplate.
    NameplateIssued {
        /// The nameplate.
        nameplate: Nameplate,
        /// The agent.
        agent: Peer,
        /// Whether the agent said it admits technicians without asking its user.
        auto_accept: bool,
    },
    /// An agent asked for a nameplate and was refused.
    RegistrationRefused {
        /// The agent.
        agent: Peer,
        /// Why.
        reason: Refusal,
    },
    /// A nameplate expired before any viewer claimed it.
    NameplateExpired {
        /// The nameplate.
        nameplate: Nameplate,
        /// The agent that held it.
        agent: Peer,
    },
    /// The agent behind a waiting nameplate hung up.
    NameplateWithdrawn {
        /// The nameplate.
        nameplate: Nameplate,
        /// The agent that held it.
        agent: Peer,
    },
    /// A viewer claimed a waiting nameplate.
    JoinAccepted {
        /// The nameplate claimed.
        nameplate: Nameplate,
        /// The session it starts.
        session_id: u64,
        /// The viewer.
        viewer: Peer,
    },
    /// A viewer's join attempt was refused.
    JoinRefused {
        /// The nameplate presented.
        nameplate: Nameplate,
        /// The viewer.
        viewer: Peer,
        /// Why.
        reason: Refusal,
    },
    /// An agent and a viewer were paired.
    SessionStarted {
        /// The relay's session id.
        session_id: u64,
        /// The agent.
        agent: Peer,
        /// The viewer.
        viewer: Peer,
    },
    /// A session ended.
    SessionEnded {
        /// The relay's session id.
        session_id: u64,
        /// Why.
        reason: SessionEnd,
        /// From pairing to end.
        duration: Duration,
        /// Bytes forwarded from the viewer to the agent.
        bytes_to_agent: u64,
        /// Bytes forwarded from the agent to the viewer.
        bytes_to_viewer: u64,
    },
    /// A viewer's connection was lost mid-session: the session waits for it to come back.
    SessionSuspended {
        /// The relay's session id.
        session_id: u64,
        /// The viewer, as last connected.
        viewer: Peer,
    },
    /// A viewer took its session back on a new connection with its resume ticket.
    SessionResumed {
        /// The relay's session id.
        session_id: u64,
        /// The viewer, as connected now.
        viewer: Peer,
    },
    /// A connection's attempt to take a session back was refused.
    ResumeRefused {
        /// The session it asked for.
        session_id: u64,
        /// The connection (unnamed: a resume request carries no name).
        viewer: Peer,
        /// Why, as [`crate::Denied::label`] says it.
        reason: &'static str,
    },
    /// A machine enrolled with a credential (`reason` records its group).
    MachineEnrolled {
        /// The enrolling agent, named as the credential names the machine.
        machine: Peer,
        /// The group the credential put it in.
        group: String,
        /// Whether it replaced an earlier enrollment of the same name.
        replaced: bool,
    },
    /// An enrolled machine's agent came online.
    MachineOnline {
        /// The agent.
        machine: Peer,
    },
    /// An agent's enrollment or online request was refused.
    MachineRefused {
        /// The agent, with the machine name it claimed.
        machine: Peer,
        /// Why.
        reason: Refusal,
    },
    /// A technician was refused a machine (or the list of machines).
    AccessRefused {
        /// The technician, as its certificate names it (or as unverified, if it had none).
        technician: Peer,
        /// The machine asked for (empty for a listing).
        machine: String,
        /// Why.
        reason: Refusal,
    },
    /// A TLS handshake failed: e.g. a revoked, expired or foreign client certificate.
    HandshakeFailed {
        /// Where it came from.
        addr: SocketAddr,
        /// The TLS layer's explanation.
        reason: String,
    },
    /// Refusals of one kind from one network that were counted, not recorded one by one,
    /// during the minute after the one recorded (see [`super::sampler`]).
    RefusalsSummarized(Summary),
    /// Rows lost because the writer was behind or the database failed, written as soon as the
    /// writer caught up.
    RowsDropped {
        /// How many.
        rows: u64,
    },
}

/// One audit row's content. Absent fields do not apply to the row's kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When the relay saw the event, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The event's kind, e.g. `session_started`.
    pub kind: String,
    /// The relay's session id.
    pub session_id: Option<u64>,
    /// The nameplate, as `123-456`.
    pub nameplate: Option<String>,
    /// The agent's address.
    pub agent_addr: Option<String>,
    /// The agent's self-declared name.
    pub agent_name: Option<String>,
    /// The viewer's address.
    pub viewer_addr: Option<String>,
    /// The viewer's self-declared name.
    pub viewer_name: Option<String>,
    /// Why a request was refused or a session ended.
    pub reason: Option<String>,
    /// A session's length in milliseconds.
    pub duration_ms: Option<u64>,
    /// Bytes forwarded from the viewer to the agent.
    pub bytes_to_agent: Option<u64>,
    /// Bytes forwarded from the agent to the viewer.
    pub bytes_to_viewer: Option<u64>,
}

/// Milliseconds since the Unix epoch, as the audit log stores times.
pub fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

impl AuditEvent {
    /// For a refusal that no limit slows down, what to count it with instead of recording it
    /// when there are many (see [`super::sampler`]).
    pub fn sample_key(&self) -> Option<SampleKey> {
        let (addr, side, kind, reason) = match self {
            AuditEvent::JoinRefused {
                viewer,
                reason: reason @ Refusal::RateLimited { .. },
                ..
            } => (
                viewer.addr,
                Side::Viewer,
                "join_refused",
                refusal_label(reason),
            ),
            AuditEvent::RegistrationRefused { agent, reason } => (
                agent.addr,
                Side::Agent,
                "registration_refused",
                refusal_label(reason),
            ),
            AuditEvent::ResumeRefused { viewer, reason, .. } => {
                (viewer.addr, Side::Viewer, "resume_refused", *reason)
            }
            AuditEvent::MachineRefused { machine, reason } => (
                machine.addr,
                Side::Agent,
                "machine_refused",
                refusal_label(reason),
            ),
            AuditEvent::AccessRefused {
                technician, reason, ..
            } => (
                technician.addr,
                Side::Viewer,
                "access_refused",
                refusal_label(reason),
            ),
            AuditEvent::HandshakeFailed { addr, .. } => {
                (*addr, Side::Viewer, "handshake_failed", "tls")
            }
            _ => return None,
        };
        Some(SampleKey {
            network: Some(Network::of(addr.ip())),
            side,
            kind,
            reason,
        })
    }

    /// The row recording this event, seen at `at`.
    pub fn into_record(self, at: SystemTime) -> AuditRecord {
        let at_ms = unix_ms(at);
        let record = |kind: &str| AuditRecord {
            at_ms,
            kind: kind.to_owned(),
            ..AuditRecord::default()
        };
        match self {
            AuditEvent::NameplateIssued {
                nameplate,
                agent,
                auto_accept,
            } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                reason: auto_accept.then(|| "auto_accept".to_owned()),
                ..with_agent(record("nameplate_issued"), agent)
            },
            // Refused for want of room: the name a flood chose is not worth keeping.
            AuditEvent::RegistrationRefused { agent, reason } => AuditRecord {
                reason: Some(refusal_label(&reason).to_owned()),
                agent_addr: Some(agent.addr.to_string()),
                ..record("registration_refused")
            },
            AuditEvent::NameplateExpired { nameplate, agent } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                ..with_agent(record("nameplate_expired"), agent)
            },
            AuditEvent::NameplateWithdrawn { nameplate, agent } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                ..with_agent(record("nameplate_withdrawn"), agent)
            },
            AuditEvent::JoinAccepted {
                nameplate,
                session_id,
                viewer,
            } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                session_id: Some(session_id),
                ..with_viewer(record("join_accepted"), viewer)
            },
            // A rate-limited attempt keeps no name: a flood chose it.
            AuditEvent::JoinRefused {
                nameplate,
                viewer,
                reason: reason @ Refusal::RateLimited { .. },
            } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                reason: Some(refusal_label(&reason).to_owned()),
                viewer_addr: Some(viewer.addr.to_string()),
                ..record("join_refused")
            },
            AuditEvent::JoinRefused {
                nameplate,
                viewer,
                reason,
            } => AuditRecord {
                nameplate: Some(nameplate.to_string()),
                reason: Some(refusal_label(&reason).to_owned()),
                ..with_viewer(record("join_refused"), viewer)
            },
            AuditEvent::SessionStarted {
                session_id,
                agent,
                viewer,
            } => AuditRecord {
                session_id: Some(session_id),
                ..with_viewer(with_agent(record("session_started"), agent), viewer)
            },
            AuditEvent::SessionEnded {
                session_id,
                reason,
                duration,
                bytes_to_agent,
                bytes_to_viewer,
            } => AuditRecord {
                session_id: Some(session_id),
                reason: Some(reason.label().to_owned()),
                duration_ms: Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
                bytes_to_agent: Some(bytes_to_agent),
                bytes_to_viewer: Some(bytes_to_viewer),
                ..record("session_ended")
            },
            AuditEvent::SessionSuspended { session_id, viewer } => AuditRecord {
                session_id: Some(session_id),
                ..with_viewer(record("session_suspended"), viewer)
            },
            AuditEvent::SessionResumed { session_id, viewer } => AuditRecord {
                session_id: Some(session_id),
                ..with_viewer(record("session_resumed"), viewer)
            },
            AuditEvent::ResumeRefused {
                session_id,
                viewer,
                reason,
            } => AuditRecord {
                session_id: Some(session_id),
                reason: Some(reason.to_owned()),
                ..with_viewer(record("resume_refused"), viewer)
            },
            AuditEvent::MachineEnrolled {
                machine,
                group,
                replaced,
            } => AuditRecord {
                reason: Some(if replaced {
                    format!("group={}; replaced the earlier enrollment", text(&group))
                } else {
                    format!("group={}", text(&group))
                }),
                ..with_agent(record("machine_enrolled"), machine)
            },
            AuditEvent::MachineOnline { machine } => with_agent(record("machine_online"), machine),
            AuditEvent::MachineRefused { machine, reason } => AuditRecord {
                reason: Some(refusal_label(&reason).to_owned()),
                ..with_agent(record("machine_refused"), machine)
            },
            AuditEvent::AccessRefused {
                technician,
                machine,
                reason,
            } => AuditRecord {
                agent_name: Some(text(&machine)),
                reason: Some(refusal_label(&reason).to_owned()),
                ..with_viewer(record("access_refused"), technician)
            },
            AuditEvent::HandshakeFailed { addr, reason } => AuditRecord {
                viewer_addr: Some(addr.to_string()),
                reason: Some(text(&reason)),
                ..record("handshake_failed")
            },
            AuditEvent::RefusalsSummarized(Summary { key, count, .. }) => {
                let network = key
                    .network
                    .map_or_else(|| "other networks".to_owned(), |n| n.to_string());
                let (agent_addr, viewer_addr) = match key.side {
                    Side::Agent => (Some(network), None),
                    Side::Viewer => (None, Some(network)),
                };
                AuditRecord {
                    agent_addr,
                    viewer_addr,
                    reason: Some(format!(
                        "{} {}: {count} more within a minute, not recorded one by one",
                        key.kind, key.reason
                    )),
                    ..record("refusals_summarized")
                }
            }
            AuditEvent::RowsDropped { rows } => AuditRecord {
                reason: Some(format!(
                    "{rows} rows lost: the writer was behind or the database failed"
                )),
                ..record("audit_rows_dropped")
            },
        }
    }
}

impl From<SessionEnded> for AuditEvent {
    fn from(ended: SessionEnded) -> Self {
        AuditEvent::SessionEnded {
            session_id: ended.session_id,
            reason: ended.end,
            duration: ended.duration,
            bytes_to_agent: ended.bytes_to_agent,
            bytes_to_viewer: ended.bytes_to_viewer,
        }
    }
}

fn with_agent(record: AuditRecord, agent: Peer) -> AuditRecord {
    AuditRecord {
        agent_addr: Some(agent.addr.to_string()),
        agent_name: Some(text(&agent.name)),
        ..record
    }
}

fn with_viewer(record: AuditRecord, viewer: Peer) -> AuditRecord {
    AuditRecord {
        viewer_addr: Some(viewer.addr.to_string()),
        viewer_name: Some(text(&viewer.name)),
        ..record
    }
}

/// Text from a client or a certificate as a row stores it: cut at [`MAX_TEXT`] bytes. (It is
/// stored as received, so that the log says exactly what came; `audit` prints it escaped.)
fn text(raw: &str) -> String {
    if raw.len() <= MAX_TEXT {
        return raw.to_owned();
    }
    let mut cut = MAX_TEXT - '…'.len_utf8();
    while !raw.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &raw[..cut])
}

impl AuditRecord {
    /// About how many bytes the row takes while it waits for the writer.
    pub fn queued_bytes(&self) -> usize {
        let texts = [
            &self.nameplate,
            &self.agent_addr,
            &self.agent_name,
            &self.viewer_addr,
            &self.viewer_name,
            &self.reason,
        ];
        std::mem::size_of::<Self>()
            + self.kind.len()
            + texts
                .iter()
                .map(|text| text.as_ref().map_or(0, String::len))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> Peer {
        Peer {
            addr: SocketAddr::from(([192, 0, 2, 7], 4000)),
            name: name.to_owned(),
        }
    }

    fn refused(reason: Refusal, name: &str) -> AuditRecord {
        AuditEvent::JoinRefused {
            nameplate: Nameplate::try_from(123_456).unwrap(),
            viewer: peer(name),
            reason,
        }
        .into_record(SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn limit_refusals_keep_the_address_but_not_the_name() {
        let limited = refused(
            Refusal::RateLimited {
                retry_after_secs: 3,
            },
            "flood",
        );
        assert_eq!(limited.viewer_addr.as_deref(), Some("192.0.2.7:4000"));
        assert_eq!(limited.viewer_name, None);
        let registration = AuditEvent::RegistrationRefused {
            agent: peer("flood"),
            reason: Refusal::NetworkBusy,
        }
        .into_record(SystemTime::UNIX_EPOCH);
        assert_eq!(registration.agent_name, None);
        assert_eq!(registration.reason.as_deref(), Some("network_busy"));
        let guess = refused(Refusal::UnknownCode, "tech");
        assert_eq!(guess.viewer_name.as_deref(), Some("tech"));
    }

    #[test]
    fn names_are_stored_bounded() {
        let long = refused(Refusal::UnknownCode, &"é".repeat(1000));
        let stored = long.viewer_name.unwrap();
        assert!(stored.len() <= MAX_TEXT, "{}", stored.len());
        assert!(stored.ends_with("é…"), "cut on a character boundary");
        let handshake = AuditEvent::HandshakeFailed {
            addr: peer("").addr,
            reason: "x".repeat(10_000),
        }
        .into_record(SystemTime::UNIX_EPOCH);
        assert!(handshake.reason.unwrap().len() <= MAX_TEXT);
    }

    #[test]
    fn only_refusals_no_limit_slows_are_sampled_and_by_network() {
        let limited = AuditEvent::JoinRefused {
            nameplate: Nameplate::try_from(1).unwrap(),
            viewer: Peer {
                addr: "[2001:db8:0:1::99]:5000".parse().unwrap(),
                name: String::new(),
            },
            reason: Refusal::RateLimited {
                retry_after_secs: 1,
            },
        };
        let key = limited.sample_key().unwrap();
        assert_eq!(
            key.network.unwrap().to_string(),
            "2001:db8:0:1::/64",
            "grouped by /64"
        );
        assert_eq!((key.kind, key.reason), ("join_refused", "rate_limited"));
        let guess = AuditEvent::JoinRefused {
            nameplate: Nameplate::try_from(1).unwrap(),
            viewer: peer("tech"),
            reason: Refusal::UnknownCode,
        };
        assert_eq!(guess.sample_key(), None, "guesses are rate limited already");
    }
}
