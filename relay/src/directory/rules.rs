//! The access policy's rules, and what they let a role reach.

use super::{
    name, rule_matches,
    store::{database, unreadable},
    Directory, DirectoryError, MachineRecord, Rule, Target,
};

impl Directory {
    /// Lets technicians with `role` reach `target`; false if they already could by this rule.
    pub fn allow(&mut self, role: &str, target: &Target) -> Result<bool, DirectoryError> {
        name::check("role", role)?;
        target.check()?;
        let added = self
            .connection
            .execute(
                "INSERT OR IGNORE INTO policy_rules (role, target) VALUES (?1, ?2)",
                [role, &target.to_string()],
            )
            .map_err(database(&self.path))?;
        Ok(added > 0)
    }

    /// Removes the rule letting `role` reach `target`; false if there was none. Other rules
    /// covering the same machines stay.
    pub fn disallow(&mut self, role: &str, target: &Target) -> Result<bool, DirectoryError> {
        let removed = self
            .connection
            .execute(
                "DELETE FROM policy_rules WHERE role = ?1 AND target = ?2",
                [role, &target.to_string()],
            )
            .map_err(database(&self.path))?;
        Ok(removed > 0)
    }

    /// Every rule, by role then target.
    pub fn rules(&self) -> Result<Vec<Rule>, DirectoryError> {
        self.select_rules(
            "SELECT role, target FROM policy_rules ORDER BY role, target",
            [],
        )
    }

    /// Whether any rule lets technicians with `role` reach `machine`.
    pub fn may_reach(&self, role: &str, machine: &MachineRecord) -> Result<bool, DirectoryError> {
        Ok(self
            .rules_of(role)?
            .iter()
            .any(|rule| rule_matches(rule, role, machine)))
    }

    /// The machines technicians with `role` may reach, by name.
    pub fn reachable(&self, role: &str) -> Result<Vec<MachineRecord>, DirectoryError> {
        let rules = self.rules_of(role)?;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let mut machines = self.machines()?;
        machines.retain(|machine| rules.iter().any(|rule| rule_matches(rule, role, machine)));
        Ok(machines)
    }

    fn rules_of(&self, role: &str) -> Result<Vec<Rule>, DirectoryError> {
        self.select_rules(
            "SELECT role, target FROM policy_rules WHERE role = ?1",
            [role],
        )
    }

    fn select_rules(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Rule>, DirectoryError> {
        let mut statement = self
            .connection
            .prepare_cached(sql)
            .map_err(database(&self.path))?;
        let mut rows = statement.query(params).map_err(database(&self.path))?;
        let mut rules = Vec::new();
        while let Some(row) = rows.next().map_err(database(&self.path))? {
            let read = || -> rusqlite::Result<(String, String)> { Ok((row.get(0)?, row.get(1)?)) };
            let (role, target) = read().map_err(database(&self.path))?;
            let target = target.parse().map_err(|e: super::ParseTargetError| {
                unreadable(&self.path, format!("rule for role {role:?}"), e.to_string())
            })?;
            rules.push(Rule { role, target });
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::testing::{at, new_machine, open_temp};

    fn rule(role: &str, target: &str) -> Rule {
        Rule {
            role: role.to_owned(),
            target: target.parse().unwrap(),
        }
    }

    fn names(machines: Vec<MachineRecord>) -> Vec<String> {
        machines.into_iter().map(|m| m.name).collect()
    }

    #[test]
    fn rules_are_added_and_removed_once() {
        let (_dir, mut directory) = open_temp();
        let web = Target::Group("web".into());
        assert!(directory.allow("ops", &web).unwrap());
        assert!(!directory.allow("ops", &web).unwrap());
        assert!(directory
            .allow("dba", &"machine:db-1".parse().unwrap())
            .unwrap());
        assert_eq!(
            directory.rules().unwrap(),
            [
                rule("admin", "*"),
                rule("dba", "machine:db-1"),
                rule("ops", "group:web")
            ]
        );
        assert!(directory.disallow("ops", &web).unwrap());
        assert!(!directory.disallow("ops", &web).unwrap());
        assert!(!directory.disallow("nobody", &Target::Everything).unwrap());
        assert_eq!(
            directory.rules().unwrap(),
            [rule("admin", "*"), rule("dba", "machine:db-1")]
        );
    }

    #[test]
    fn invalid_roles_and_targets_are_not_stored() {
        let (_dir, mut directory) = open_temp();
        assert!(matches!(
            directory.allow("the ops", &Target::Everything),
            Err(DirectoryError::InvalidName(_))
        ));
        assert!(matches!(
            directory.allow("ops", &Target::Group("a:b".into())),
            Err(DirectoryError::InvalidName(_))
        ));
        assert_eq!(directory.rules().unwrap(), [rule("admin", "*")]);
    }

    #[test]
    fn roles_reach_what_their_rules_cover() {
        let (_dir, mut directory) = open_temp();
        for (name, group, serial) in [
            ("web-1", "web", "a"),
            ("web-2", "web", "b"),
            ("db-1", "db", "c"),
            ("db-2", "db", "d"),
        ] {
            directory
                .enroll(new_machine(name, group, serial), at(1))
                .unwrap();
        }
        directory
            .allow("ops", &"group:web".parse().unwrap())
            .unwrap();
        directory
            .allow("ops", &"machine:db-2".parse().unwrap())
            .unwrap();
        directory
            .allow("dba", &"group:db".parse().unwrap())
            .unwrap();
        directory
            .allow("dba", &"group:none".parse().unwrap())
            .unwrap();

        assert_eq!(
            names(directory.reachable("admin").unwrap()),
            ["db-1", "db-2", "web-1", "web-2"]
        );
        assert_eq!(
            names(directory.reachable("ops").unwrap()),
            ["db-2", "web-1", "web-2"]
        );
        assert_eq!(names(directory.reachable("dba").unwrap()), ["db-1", "db-2"]);
        assert_eq!(directory.reachable("guest").unwrap(), []);

        let db1 = directory.machine("db-1").unwrap().unwrap();
        let db2 = directory.machine("db-2").unwrap().unwrap();
        assert!(directory.may_reach("admin", &db1).unwrap());
        assert!(!directory.may_reach("ops", &db1).unwrap());
        assert!(directory.may_reach("ops", &db2).unwrap());
        assert!(directory.may_reach("dba", &db1).unwrap());
        assert!(!directory.may_reach("guest", &db1).unwrap());
    }

    #[test]
    fn the_admin_rule_is_seeded_on_first_open_only() {
        let (dir, mut directory) = open_temp();
        assert_eq!(directory.rules().unwrap(), [rule("admin", "*")]);
        assert!(directory.disallow("admin", &Target::Everything).unwrap());
        drop(directory);
        let directory = Directory::open(&dir.path().join("relay.db")).unwrap();
        assert_eq!(directory.rules().unwrap(), []);
        assert_eq!(directory.reachable("admin").unwrap(), []);
    }

    #[test]
    fn a_damaged_rule_is_reported() {
        let (_dir, directory) = open_temp();
        directory
            .connection
            .execute("INSERT INTO policy_rules VALUES ('ops', 'everything')", [])
            .unwrap();
        let error = directory.rules().unwrap_err();
        assert!(
            error.to_string().contains("rule for role \"ops\""),
            "{error}"
        );
        // Other roles' rules still work.
        assert!(directory.reachable("admin").is_ok());
    }
}
