//! Policy evaluation: whether one rule lets a role reach a machine. Pure, so the relay can
//! also apply rules it has cached.

use std::fmt;

use super::{MachineRecord, Target};

/// "Role `role` may reach `target`": technicians whose certificate carries the role may open
/// shells on the machines the target covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The technicians' role.
    pub role: String,
    /// The machines it covers.
    pub target: Target,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "role {} may reach {}", self.role, self.target)
    }
}

/// Whether `rule` lets a technician with `role` reach `machine`. Names compare exactly: no
/// case folding, no patterns besides `*`.
pub fn rule_matches(rule: &Rule, role: &str, machine: &MachineRecord) -> bool {
    rule.role == role
        && match &rule.target {
            Target::Everything => true,
            Target::Group(group) => *group == machine.group,
            Target::Machine(name) => *name == machine.name,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::testing::record;

    fn rule(role: &str, target: &str) -> Rule {
        Rule {
            role: role.to_owned(),
            target: target.parse().unwrap(),
        }
    }

    #[test]
    fn everything_covers_every_machine_of_the_role_only() {
        let web = record("web-1", "web");
        assert!(rule_matches(&rule("admin", "*"), "admin", &web));
        assert!(!rule_matches(&rule("admin", "*"), "support", &web));
        assert!(!rule_matches(&rule("admin", "*"), "Admin", &web));
    }

    #[test]
    fn a_group_covers_its_members_only() {
        let group = rule("ops", "group:web");
        assert!(rule_matches(&group, "ops", &record("web-1", "web")));
        assert!(!rule_matches(&group, "ops", &record("db-1", "db")));
        // A machine named like the group is not in it.
        assert!(!rule_matches(&group, "ops", &record("web", "db")));
    }

    #[test]
    fn a_machine_target_covers_that_machine_only() {
        let one = rule("dba", "machine:db-1");
        assert!(rule_matches(&one, "dba", &record("db-1", "db")));
        assert!(!rule_matches(&one, "dba", &record("db-2", "db")));
        // A group named like the machine does not count.
        assert!(!rule_matches(&one, "dba", &record("x", "db-1")));
    }

    #[test]
    fn rules_read_as_sentences() {
        assert_eq!(
            rule("ops", "group:web").to_string(),
            "role ops may reach group:web"
        );
    }
}
