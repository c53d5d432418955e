//! The names of machines, groups and roles: short, and safe to print and to embed in targets.

/// Longest allowed name.
const MAX_LEN: usize = 64;

/// A machine, group or role name outside `[A-Za-z0-9._-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} name {value:?} is invalid: use 1 to 64 of A-Z a-z 0-9 . _ -")]
pub struct InvalidName {
    /// What the name is for: "machine", "group" or "role".
    pub what: &'static str,
    /// The rejected name.
    pub value: String,
}

/// Accepts `value` as a `what` name ("machine", "group" or "role") if it is 1 to 64 of
/// `A-Z a-z 0-9 . _ -`.
pub fn check(what: &'static str, value: &str) -> Result<(), InvalidName> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=MAX_LEN).contains(&value.len()) && value.chars().all(allowed) {
        Ok(())
    } else {
        Err(InvalidName {
            what,
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_names_pass_and_others_do_not() {
        for good in ["web-1", "db.eu_west", "A", &"x".repeat(64)] {
            assert_eq!(check("machine", good), Ok(()), "{good}");
        }
        for bad in ["", "web 1", "web:1", "*", "é", "a/b", &"x".repeat(65)] {
            assert!(check("machine", bad).is_err(), "{bad}");
        }
    }
}
