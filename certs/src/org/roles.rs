//! The technicians' roles an enrolled machine serves, as its enrollment credential names them.

use std::fmt;

use super::profile::check_name;
use crate::CertError;

/// Which technicians' roles a machine serves: named in its enrollment credential (one
/// `urn:tether:accept-role:ROLE` SAN URI each) and kept by the machine, which checks every
/// technician's CA-issued role against them whatever the relay's access policy says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AcceptedRoles {
    /// Every role (a credential that names none; the relay's policy is then the only filter).
    #[default]
    Any,
    /// Only these roles (sorted, without duplicates, never empty).
    Only(Vec<String>),
}

impl AcceptedRoles {
    /// The roles `roles` names: [`AcceptedRoles::Any`] when there are none. Each must be a
    /// valid role name.
    pub fn from_names<S: AsRef<str>>(roles: &[S]) -> Result<Self, CertError> {
        let mut names = Vec::with_capacity(roles.len());
        for role in roles {
            check_name("role", role.as_ref())?;
            names.push(role.as_ref().to_owned());
        }
        names.sort();
        names.dedup();
        Ok(if names.is_empty() {
            AcceptedRoles::Any
        } else {
            AcceptedRoles::Only(names)
        })
    }

    /// Whether a technician of `role` may be served.
    pub fn accepts(&self, role: &str) -> bool {
        match self {
            AcceptedRoles::Any => true,
            AcceptedRoles::Only(roles) => roles.iter().any(|accepted| accepted == role),
        }
    }

    /// The roles named, or `None` for [`AcceptedRoles::Any`].
    pub fn names(&self) -> Option<&[String]> {
        match self {
            AcceptedRoles::Any => None,
            AcceptedRoles::Only(roles) => Some(roles),
        }
    }
}

impl fmt::Display for AcceptedRoles {
    /// `any role`, or the roles separated by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptedRoles::Any => f.write_str("any role"),
            AcceptedRoles::Only(roles) => f.write_str(&roles.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_names_accept_any_role_and_names_accept_only_themselves() {
        let any = AcceptedRoles::from_names::<&str>(&[]).unwrap();
        assert_eq!(any, AcceptedRoles::Any);
        assert!(any.accepts("intern"));
        assert_eq!(any.to_string(), "any role");

        let some = AcceptedRoles::from_names(&["support", "admin", "support"]).unwrap();
        assert_eq!(
            some.names(),
            Some(&["admin".to_owned(), "support".to_owned()][..])
        );
        assert!(some.accepts("admin") && some.accepts("support"));
        assert!(!some.accepts("intern") && !some.accepts("Admin") && !some.accepts(""));
        assert_eq!(some.to_string(), "admin, support");

        assert!(AcceptedRoles::from_names(&["ad min"]).is_err());
    }
}
