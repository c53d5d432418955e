//! Turning a TLS alert from the relay into words a technician can act on.

/// TLS alerts a relay sends when it refuses a client certificate, and what they mean here.
const ALERTS: [(u8, &str); 6] = [
    (42, "the relay rejected your certificate"),
    (44, "the relay rejected your certificate: it was revoked"),
    (45, "the relay rejected your certificate: it has expired"),
    (
        48,
        "the relay rejected your certificate: it is not issued by the organisation's CA",
    ),
    // A CA with the organisation's name but another key: its signature does not verify.
    (
        51,
        "the relay rejected your certificate: it is not issued by the organisation's CA",
    ),
    (116, "the relay requires a technician certificate"),
];

/// How quinn words a TLS alert (QUIC transport error 0x100 + the alert's number).
const ALERT_MARKER: &str = "the cryptographic handshake failed: error ";

/// `error`, prefixed with an explanation when it reports one of the alerts above.
pub fn explain(error: &str) -> String {
    let alert = error.find(ALERT_MARKER).and_then(|at| {
        let digits: String = error[at + ALERT_MARKER.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u8>().ok()
    });
    match ALERTS.iter().find(|(code, _)| Some(*code) == alert) {
        Some((_, meaning)) => format!("{meaning} ({error})"),
        None => error.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn certificate_alerts_are_explained_and_other_errors_kept() {
        let revoked = "aborted by peer: the cryptographic handshake failed: error 44";
        assert!(explain(revoked).starts_with("the relay rejected your certificate: it was revoked"));
        let expired = "the cryptographic handshake failed: error 45: expired";
        assert!(explain(expired).contains("it has expired"));
        let other = "the cryptographic handshake failed: error 40";
        assert_eq!(explain(other), other);
        assert_eq!(explain("timed out"), "timed out");
    }
}
