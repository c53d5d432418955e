//! What a policy rule grants access to: every machine, a group, or one machine.

use std::{fmt, str::FromStr};

use super::{name, InvalidName};

/// What a rule lets a role reach. Written `*`, `group:NAME` or `machine:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every machine (`*`).
    Everything,
    /// The machines of one group (`group:NAME`).
    Group(String),
    /// One machine (`machine:NAME`).
    Machine(String),
}

/// Text that is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTargetError {
    /// Neither `*` nor `group:` nor `machine:`.
    #[error("{0:?} is not a target: use *, group:NAME or machine:NAME")]
    Form(String),
    /// The group or machine name is invalid.
    #[error(transparent)]
    Name(#[from] InvalidName),
}

impl Target {
    /// Checks the group or machine name, for targets built without parsing.
    pub(super) fn check(&self) -> Result<(), InvalidName> {
        match self {
            Self::Everything => Ok(()),
            Self::Group(group) => name::check("group", group),
            Self::Machine(machine) => name::check("machine", machine),
        }
    }
}

impl FromStr for Target {
    type Err = ParseTargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let target = if text == "*" {
            Self::Everything
        } else if let Some(group) = text.strip_prefix("group:") {
            Self::Group(group.to_owned())
        } else if let Some(machine) = text.strip_prefix("machine:") {
            Self::Machine(machine.to_owned())
        } else {
            return Err(ParseTargetError::Form(text.to_owned()));
        };
        target.check()?;
        Ok(target)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Everything => f.write_str("*"),
            Self::Group(group) => write!(f, "group:{group}"),
            Self::Machine(machine) => write!(f, "machine:{machine}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_text() {
        for (text, target) in [
            ("*", Target::Everything),
            ("group:web", Target::Group("web".into())),
            ("machine:db-1.eu", Target::Machine("db-1.eu".into())),
        ] {
            assert_eq!(text.parse::<Target>(), Ok(target.clone()));
            assert_eq!(target.to_string(), text);
        }
    }

    #[test]
    fn malformed_targets_are_refused() {
        for text in ["", "all", "**", "host:web", "group", "Group:web"] {
            assert!(
                matches!(text.parse::<Target>(), Err(ParseTargetError::Form(_))),
                "{text}"
            );
        }
        for text in ["group:", "machine:a b", "group:*", "machine:x:y"] {
            assert!(
                matches!(text.parse::<Target>(), Err(ParseTargetError::Name(_))),
                "{text}"
            );
        }
    }
}
