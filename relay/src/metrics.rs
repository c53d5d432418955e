//! The relay's Prometheus metrics. Every metric is a cheap atomic, updated where the event
//! happens; the registry is only read when `/metrics` is scraped.

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::{Registry, Unit},
};
use tether_proto::{control::Refusal, ProtoError};

use crate::audit::refusal_label;

type Labels = Vec<(&'static str, &'static str)>;

/// Refusals a join can meet, each exported from the start (at zero) so rates work at once.
const JOIN_REFUSALS: [Refusal; 4] = [
    Refusal::UnknownCode,
    Refusal::ExpiredCode,
    Refusal::CodeAlreadyUsed,
    Refusal::RateLimited {
        retry_after_secs: 0,
    },
];

/// A bound on what clients may take or send, each a label of `limit_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A network held `max_connections_per_address` connections.
    ConnectionsPerNetwork,
    /// The relay held `max_connections` connections.
    Connections,
    /// A network held `max_registrations_per_network` waiting codes.
    RegistrationsPerNetwork,
    /// The relay held `max_registrations` waiting codes, or half the nameplate space.
    Registrations,
    /// A network was over its join rate.
    JoinsPerNetwork,
    /// All networks together were over the global join rate.
    Joins,
    /// A client's control message was longer than the control stream allows.
    ControlMessageSize,
    /// A field of a client's control message (a name, a signature) was longer than its bound.
    ControlFieldSize,
}

impl Limit {
    const ALL: [Limit; 8] = [
        Limit::ConnectionsPerNetwork,
        Limit::Connections,
        Limit::RegistrationsPerNetwork,
        Limit::Registrations,
        Limit::JoinsPerNetwork,
        Limit::Joins,
        Limit::ControlMessageSize,
        Limit::ControlFieldSize,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::ConnectionsPerNetwork => "connections_per_network",
            Limit::Connections => "connections",
            Limit::RegistrationsPerNetwork => "registrations_per_network",
            Limit::Registrations => "registrations",
            Limit::JoinsPerNetwork => "joins_per_network",
            Limit::Joins => "joins",
            Limit::ControlMessageSize => "control_message_size",
            Limit::ControlFieldSize => "control_field_size",
        }
    }
}

/// Why a technician's session was cut, each a label of `technician_sessions_cut_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The organisation revoked the technician's certificate.
    Revoked,
    /// The technician's certificate expired.
    Expired,
}

impl Cut {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Cut::Revoked => "revoked",
            Cut::Expired => "expired",
        }
    }
}

/// Every metric the relay exports, with `tether_relay_` prefixed to the names below.
pub struct RelayMetrics {
    registry: Registry,
    /// `connections_open`: client connections open now.
    pub connections_open: Gauge,
    /// `connections_total`: client connections accepted since start.
    pub connections: Counter,
    /// `connections_refused_total`: connections refused because their source address held
    /// `max_connections_per_address` already: before the handshake, or at its end for one
    /// begun before the address was validated.
    pub connections_refused: Counter,
    /// `connections_retried_total`: connection attempts answered with a QUIC Retry (their
    /// address unvalidated, and over its limit or among too many unvalidated handshakes).
    pub connections_retried: Counter,
    /// `forwarded_streams_open`: streams being forwarded now (each one task and one chunk of
    /// buffer at most).
    pub forwarded_streams_open: Gauge,
    /// `agents_registered`: agents connected that asked for a code (waiting or in a session).
    pub agents_registered: Gauge,
    /// `sessions_active`: sessions being forwarded now.
    pub sessions_active: Gauge,
    /// `sessions_total`: sessions paired since start.
    pub sessions: Counter,
    /// `sessions_suspended`: sessions waiting for a viewer whose connection was lost.
    pub sessions_suspended: Gauge,
    /// `resumes_total`: sessions a viewer took back on a new connection.
    pub resumes: Counter,
    /// `resumes_refused_total`: resume attempts refused (wrong ticket, too late, session over).
    pub resumes_refused: Counter,
    /// `forwarded_bytes_total{direction="to_agent"}`.
    pub forwarded_to_agent: Counter,
    /// `forwarded_bytes_total{direction="to_viewer"}`.
    pub forwarded_to_viewer: Counter,
    /// `join_failures_total{reason}`: refused join attempts.
    join_failures: Family<Labels, Counter>,
    /// `rate_limit_hits_total`: join attempts refused by the rate limiter.
    pub rate_limit_hits: Counter,
    /// `limit_refusals_total{limit}`: what each bound on clients refused (see [`Limit`]).
    limit_refusals: Family<Labels, Counter>,
    /// `technician_sessions_cut_total{reason}`: technicians' sessions the relay ended because
    /// their certificate stopped being valid (see [`Cut`]).
    technician_sessions_cut: Family<Labels, Counter>,
    /// `audit_rows_dropped_total`: audit rows lost because the writer was behind or failing.
    pub audit_rows_dropped: Counter,
    /// `pairing_latency_seconds`: from a viewer's join request to its `Paired` answer.
    pub pairing_latency: Histogram,
    /// `machines_online`: enrolled machines whose agents are connected now.
    pub machines_online: Gauge,
    /// `handshakes_failed_total`: TLS handshakes that failed (e.g. a refused client
    /// certificate).
    pub handshakes_failed: Counter,
    /// `data_path_dropped_total{reason="unknown_source"}`: data port datagrams from addresses
    /// bound to no session (and not a valid bind).
    pub data_path_dropped_unknown: Counter,
    /// `data_path_dropped_total{reason="peer_not_bound"}`: datagrams for a side not bound yet.
    pub data_path_dropped_unbound: Counter,
    /// `data_path_dropped_total{reason="send_failed"}`: datagrams the socket could not take.
    pub data_path_dropped_full: Counter,
}

impl Default for RelayMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tether_relay");
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open now",
            connections_open.clone(),
        );
        let connections = Counter::default();
        registry.register(
            "connections",
            "Client connections accepted",
            connections.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections refused because their source address held the most allowed",
            connections_refused.clone(),
        );
        let connections_retried = Counter::default();
        registry.register(
            "connections_retried",
            "Connection attempts asked to prove their address with a QUIC Retry",
            connections_retried.clone(),
        );
        let forwarded_streams_open = Gauge::default();
        registry.register(
            "forwarded_streams_open",
            "Streams being forwarded now",
            forwarded_streams_open.clone(),
        );
        let agents_registered = Gauge::default();
        registry.register(
            "agents_registered",
            "Connected agents that registered for a code (waiting or in a session)",
            agents_registered.clone(),
        );
        let sessions_active = Gauge::default();
        registry.register(
            "sessions_active",
            "Sessions being forwarded now",
            sessions_active.clone(),
        );
        let sessions = Counter::default();
        registry.register("sessions", "Sessions paired", sessions.clone());
        let sessions_suspended = Gauge::default();
        registry.register(
            "sessions_suspended",
            "Sessions waiting for a viewer whose connection was lost",
            sessions_suspended.clone(),
        );
        let resumes = Counter::default();
        registry.register(
            "resumes",
            "Sessions a viewer took back on a new connection",
            resumes.clone(),
        );
        let resumes_refused = Counter::default();
        registry.register(
            "resumes_refused",
            "Resume attempts refused: wrong ticket, too late, or the session was over",
            resumes_refused.clone(),
        );
        let forwarded = Family::<Labels, Counter>::default();
        registry.register_with_unit(
            "forwarded",
            "Session bytes forwarded, by direction",
            Unit::Bytes,
            forwarded.clone(),
        );
        let data_path_dropped = Family::<Labels, Counter>::default();
        registry.register(
            "data_path_dropped",
            "Datagrams the data port dropped, by reason",
            data_path_dropped.clone(),
        );
        let join_failures = Family::<Labels, Counter>::default();
        registry.register(
            "join_failures",
            "Join attempts refused, by reason",
            join_failures.clone(),
        );
        for refusal in &JOIN_REFUSALS {
            // Getting a series creates it, at zero.
            let _ = join_failures.get_or_create(&reason_label(refusal));
        }
        let rate_limit_hits = Counter::default();
        registry.register(
            "rate_limit_hits",
            "Join attempts refused by the rate limiter",
            rate_limit_hits.clone(),
        );
        let limit_refusals = Family::<Labels, Counter>::default();
        registry.register(
            "limit_refusals",
            "Connections, registrations, joins and control messages refused by a bound, by bound",
            limit_refusals.clone(),
        );
        for limit in Limit::ALL {
            let _ = limit_refusals.get_or_create(&vec![("limit", limit.label())]);
        }
        let technician_sessions_cut = Family::<Labels, Counter>::default();
        registry.register(
            "technician_sessions_cut",
            "Technicians' sessions ended because their certificate was revoked or expired",
            technician_sessions_cut.clone(),
        );
        for cut in [Cut::Revoked, Cut::Expired] {
            let _ = technician_sessions_cut.get_or_create(&vec![("reason", cut.label())]);
        }
        let audit_rows_dropped = Counter::default();
        registry.register(
            "audit_rows_dropped",
            "Audit rows lost because the audit writer was behind or failing",
            audit_rows_dropped.clone(),
        );
        // 0.5 ms to 4 s: pairing is two lock-protected lookups and two small messages.
        let pairing_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register_with_unit(
            "pairing_latency",
            "Time from a viewer's join request to the relay's Paired answer",
            Unit::Seconds,
            pairing_latency.clone(),
        );
        let machines_online = Gauge::default();
        registry.register(
            "machines_online",
            "Enrolled machines whose agents are connected now",
            machines_online.clone(),
        );
        let handshakes_failed = Counter::default();
        registry.register(
            "handshakes_failed",
            "TLS handshakes that failed, such as refused client certificates",
            handshakes_failed.clone(),
        );
        let direction =
            |to: &'static str| forwarded.get_or_create(&vec![("direction", to)]).clone();
        let dropped = |why: &'static str| {
            data_path_dropped
                .get_or_create(&vec![("reason", why)])
                .clone()
        };
        Self {
            data_path_dropped_unknown: dropped("unknown_source"),
            data_path_dropped_unbound: dropped("peer_not_bound"),
            data_path_dropped_full: dropped("send_failed"),
            forwarded_to_agent: direction("to_agent"),
            forwarded_to_viewer: direction("to_viewer"),
            registry,
            connections_open,
            connections,
            connections_refused,
            connections_retried,
            forwarded_streams_open,
            agents_registered,
            sessions_active,
            sessions,
            sessions_suspended,
            resumes,
            resumes_refused,
            join_failures,
            rate_limit_hits,
            limit_refusals,
            technician_sessions_cut,
            audit_rows_dropped,
            pairing_latency,
            machines_online,
            handshakes_failed,
        }
    }
}

impl RelayMetrics {
    /// Counts a refused join attempt.
    pub fn join_refused(&self, reason: &Refusal) {
        self.join_failures
            .get_or_create(&reason_label(reason))
            .inc();
        if matches!(reason, Refusal::RateLimited { .. }) {
            self.rate_limit_hits.inc();
        }
    }

    /// Counts a client refused by `limit`.
    pub fn limit_refused(&self, limit: Limit) {
        self.limit_refusals
            .get_or_create(&vec![("limit", limit.label())])
            .inc();
    }

    /// Counts a client's connection closed for breaking a bound of the control protocol, if
    /// that is what `error` is.
    pub fn bound_broken(&self, error: &ProtoError) {
        match error {
            ProtoError::MessageTooLarge { .. } => self.limit_refused(Limit::ControlMessageSize),
            ProtoError::OutOfBounds(_) => self.limit_refused(Limit::ControlFieldSize),
            _ => {}
        }
    }

    /// Counts a technician's session cut for `cut`.
    pub fn technician_session_cut(&self, cut: Cut) {
        self.technician_sessions_cut
            .get_or_create(&vec![("reason", cut.label())])
            .inc();
    }

    /// The metrics in the text exposition format (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn reason_label(refusal: &Refusal) -> Labels {
    vec![("reason", refusal_label(refusal))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_encode_with_their_prefix_and_preset_labels() {
        let metrics = RelayMetrics::default();
        metrics.forwarded_to_agent.inc_by(1000);
        metrics.join_refused(&Refusal::RateLimited {
            retry_after_secs: 3,
        });
        metrics.pairing_latency.observe(0.002);
        let text = metrics.encode().unwrap();
        for line in [
            "tether_relay_forwarded_bytes_total{direction=\"to_agent\"} 1000",
            "tether_relay_forwarded_bytes_total{direction=\"to_viewer\"} 0",
            "tether_relay_join_failures_total{reason=\"rate_limited\"} 1",
            "tether_relay_join_failures_total{reason=\"unknown_code\"} 0",
            "tether_relay_rate_limit_hits_total 1",
            "tether_relay_pairing_latency_seconds_count 1",
            "tether_relay_connections_open 0",
            "tether_relay_connections_refused_total 0",
            "tether_relay_connections_retried_total 0",
            "tether_relay_forwarded_streams_open 0",
            "tether_relay_sessions_suspended 0",
            "tether_relay_resumes_total 0",
            "tether_relay_limit_refusals_total{limit=\"registrations_per_network\"} 0",
            "tether_relay_limit_refusals_total{limit=\"control_field_size\"} 0",
            "tether_relay_technician_sessions_cut_total{reason=\"expired\"} 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
