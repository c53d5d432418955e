//! The markers that say what a certificate is for, and the names allowed in them.

use crate::CertError;

/// SAN URI of relay server certificates.
pub(crate) const RELAY_URN: &str = "urn:tether:relay";
/// SAN URI of technician client certificates.
pub(crate) const TECHNICIAN_URN: &str = "urn:tether:technician";
/// SAN URI of enrollment certificates.
pub(crate) const ENROLLMENT_URN: &str = "urn:tether:enrollment";
/// Prefix of the SAN URI carrying a technician's role.
pub(crate) const ROLE_URN_PREFIX: &str = "urn:tether:role:";
/// Prefix of the SAN URI carrying an enrollment's machine group.
pub(crate) const GROUP_URN_PREFIX: &str = "urn:tether:group:";
/// Prefix of the SAN URIs carrying the technicians' roles an enrolled machine accepts.
pub(crate) const ACCEPT_ROLE_URN_PREFIX: &str = "urn:tether:accept-role:";

/// Checks a name that becomes a file name or part of a URN: `[A-Za-z0-9._-]{1,64}`.
pub(crate) fn check_name(what: &'static str, value: &str) -> Result<(), CertError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=64).contains(&value.len()) && value.chars().all(allowed) {
        Ok(())
    } else {
        Err(CertError::BadName {
            what,
            value: value.chars().take(80).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_file_names() {
        for good in ["alice", "a", "web-01.example_com", &"x".repeat(64)] {
            assert!(check_name("name", good).is_ok(), "{good:?}");
        }
        for bad in ["", "a/b", "../x", "a b", "é", "a\0", &"x".repeat(65), "a:b"] {
            let err = check_name("name", bad).unwrap_err();
            assert!(err.to_string().contains("invalid name"), "{err}");
        }
    }
}
