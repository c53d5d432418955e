//! Reading what a certificate says about itself: kind, name, serial, validity. No trust implied.

use std::time::SystemTime;

use rustls::pki_types::{CertificateDer, ServerName};
use x509_parser::{certificate::X509Certificate, extensions::GeneralName};

use super::{
    profile::{
        check_name, ACCEPT_ROLE_URN_PREFIX, ENROLLMENT_URN, GROUP_URN_PREFIX, RELAY_URN,
        ROLE_URN_PREFIX, TECHNICIAN_URN,
    },
    AcceptedRoles,
};
use crate::{times, CertError};

/// What a certificate of the organisation PKI is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// The organisation's CA (basic constraints CA).
    Ca,
    /// A relay's server certificate (`urn:tether:relay`).
    Relay,
    /// A technician's client certificate (`urn:tether:technician`) with its role.
    Technician {
        /// The role, from `urn:tether:role:ROLE`.
        role: String,
    },
    /// A machine's enrollment credential (`urn:tether:enrollment`) with its group.
    Enrollment {
        /// The machine group, from `urn:tether:group:GROUP`.
        group: String,
    },
}

impl CertKind {
    /// The kind's name as the tool and the ledger write it: `ca`, `relay`, `technician`,
    /// `enrollment`.
    pub fn label(&self) -> &'static str {
        match self {
            CertKind::Ca => "ca",
            CertKind::Relay => "relay",
            CertKind::Technician { .. } => "technician",
            CertKind::Enrollment { .. } => "enrollment",
        }
    }
}

/// What a certificate says about itself (no trust implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// What it is for.
    pub kind: CertKind,
    /// The subject common name: technician or machine name, the relay's first name, or for the
    /// CA the organisation.
    pub name: String,
    /// The serial number, lowercase hex of its DER bytes.
    pub serial: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// For an enrollment credential, the technicians' roles the machine accepts; for every
    /// other kind, [`AcceptedRoles::Any`] (the kind has no say in it).
    pub accepted_roles: AcceptedRoles,
}

/// What a certificate says about itself (no trust implied). Fails on anything that is not a
/// well-formed certificate of this PKI's profile (see [the module docs](crate::org)).
pub fn describe(cert: &CertificateDer<'_>) -> Result<CertInfo, CertError> {
    let x509 = parse(cert)?;
    let name = x509
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| CertError::BadCertificate("no UTF-8 subject common name".into()))?
        .to_owned();
    let not_org = |reason: &str| CertError::NotOrgCertificate {
        name: printable(&name),
        reason: reason.into(),
    };
    let (kind, accepted_roles) = kind_of(&x509).map_err(not_org)?;
    check_subject_name(&kind, &name)?;
    let validity = x509.validity();
    let time = |t: i64| {
        times::from_unix(t).ok_or_else(|| CertError::BadCertificate("validity out of range".into()))
    };
    Ok(CertInfo {
        serial: hex::encode(x509.raw_serial()),
        not_before: time(validity.not_before.timestamp())?,
        not_after: time(validity.not_after.timestamp())?,
        kind,
        name,
        accepted_roles,
    })
}

/// Parses a DER certificate with nothing after it.
pub(crate) fn parse<'a>(cert: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, CertError> {
    let (rest, x509) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| CertError::BadCertificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::BadCertificate(
            "trailing data after the certificate".into(),
        ));
    }
    Ok(x509)
}

/// The kind from basic constraints and the `urn:tether:` SAN URIs (exactly one marker allowed),
/// and the roles an enrollment credential accepts (only enrollment credentials may name any).
fn kind_of(x509: &X509Certificate<'_>) -> Result<(CertKind, AcceptedRoles), &'static str> {
    let san = x509
        .subject_alternative_name()
        .map_err(|_| "malformed subject alternative names")?;
    let uris: Vec<&str> = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    let markers: Vec<&str> = uris
        .iter()
        .copied()
        .filter(|u| [RELAY_URN, TECHNICIAN_URN, ENROLLMENT_URN].contains(u))
        .collect();
    let only = |prefix: &str| -> Result<String, &'static str> {
        let mut values = uris.iter().filter_map(|u| u.strip_prefix(prefix));
        match (values.next(), values.next()) {
            (Some(value), None) => check_name("role or group", value)
                .map(|()| value.to_owned())
                .map_err(|_| "invalid role or group"),
            (None, _) => Err("missing role or group"),
            (Some(_), Some(_)) => Err("several roles or groups"),
        }
    };
    let accepted: Vec<&str> = uris
        .iter()
        .filter_map(|u| u.strip_prefix(ACCEPT_ROLE_URN_PREFIX))
        .collect();
    let kind = match (x509.is_ca(), markers.as_slice()) {
        (true, []) => CertKind::Ca,
        (true, _) => return Err("a CA certificate with an end-entity kind marker"),
        (false, [RELAY_URN]) => CertKind::Relay,
        (false, [TECHNICIAN_URN]) => CertKind::Technician {
            role: only(ROLE_URN_PREFIX)?,
        },
        (false, [ENROLLMENT_URN]) => CertKind::Enrollment {
            group: only(GROUP_URN_PREFIX)?,
        },
        (false, []) => return Err("no urn:tether kind marker"),
        (false, _) => return Err("several urn:tether kind markers"),
    };
    if !accepted.is_empty() && !matches!(kind, CertKind::Enrollment { .. }) {
        return Err("accepted roles on a certificate other than an enrollment credential");
    }
    let accepted_roles =
        AcceptedRoles::from_names(&accepted).map_err(|_| "an invalid accepted role")?;
    Ok((kind, accepted_roles))
}

/// Names end up in file names, logs and messages: hold them to what the tool issues.
fn check_subject_name(kind: &CertKind, name: &str) -> Result<(), CertError> {
    let ok = match kind {
        CertKind::Ca => is_org_name(name),
        CertKind::Relay => ServerName::try_from(name).is_ok(),
        CertKind::Technician { .. } | CertKind::Enrollment { .. } => {
            check_name("name", name).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CertError::NotOrgCertificate {
            name: printable(name),
            reason: format!(
                "invalid subject common name for a {} certificate",
                kind.label()
            ),
        })
    }
}

/// An organisation name: 1 to 64 characters (the X.520 limit), none of them control characters.
pub(crate) fn is_org_name(name: &str) -> bool {
    (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

/// A name from an unchecked certificate, safe to put in a message.
fn printable(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
