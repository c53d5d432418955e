//! Enrolled machines: enrollment with one-time credentials, lookup, removal, last contact.

use std::{path::Path, time::SystemTime};

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use super::{
    name,
    store::{database, unreadable},
    time::{from_ms, to_ms},
    Directory, DirectoryError, Enrolled, MachineRecord, NewMachine,
};

const COLUMNS: &str =
    "name, group_name, machine_key, enrollment_cert, endorsement, enrolled_at_ms, last_seen_ms";

impl Directory {
    /// Enrolls `machine` at `now`, using up its enrollment credential. A name already enrolled
    /// gets the new key, certificate and group (a rebuilt server) and its last contact is
    /// forgotten. Fails with [`DirectoryError::CredentialUsed`] if the credential enrolled a
    /// machine before, even one since removed.
    pub fn enroll(
        &mut self,
        machine: NewMachine,
        now: SystemTime,
    ) -> Result<Enrolled, DirectoryError> {
        name::check("machine", &machine.name)?;
        name::check("group", &machine.group)?;
        let database = database(&self.path);
        // Immediate: the credential check and its use cannot interleave with another writer's.
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&database)?;
        let used_by: Option<String> = transaction
            .query_row(
                "SELECT machine FROM enrollment_credentials WHERE serial = ?1",
                [&machine.enrollment_serial],
                |row| row.get(0),
            )
            .optional()
            .map_err(&database)?;
        if let Some(used_by) = used_by {
            return Err(DirectoryError::CredentialUsed {
                serial: machine.enrollment_serial,
                machine: used_by,
            });
        }
        let previous: Option<Vec<u8>> = transaction
            .query_row(
                "SELECT machine_key FROM machines WHERE name = ?1",
                [&machine.name],
                |row| row.get(0),
            )
            .optional()
            .map_err(&database)?;
        let enrolled = match previous {
            None => Enrolled::New,
            Some(key) => Enrolled::Replaced {
                previous_key: key
                    .try_into()
                    .map_err(|key: Vec<u8>| bad_key(&self.path, &machine.name, key.len()))?,
            },
        };
        let at = to_ms(now);
        transaction
            .execute(
                "INSERT INTO enrollment_credentials (serial, machine, used_at_ms) \
                 VALUES (?1, ?2, ?3)",
                params![machine.enrollment_serial, machine.name, at],
            )
            .map_err(&database)?;
        transaction
            .execute(
                &format!("INSERT OR REPLACE INTO machines ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"),
                params![
                    machine.name,
                    machine.group,
                    &machine.machine_key[..],
                    machine.enrollment_cert,
                    machine.endorsement,
                    at
                ],
            )
            .map_err(&database)?;
        transaction.commit().map_err(&database)?;
        Ok(enrolled)
    }

    /// The machine enrolled as `name`, if any.
    pub fn machine(&self, name: &str) -> Result<Option<MachineRecord>, DirectoryError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("SELECT {COLUMNS} FROM machines WHERE name = ?1"))
            .map_err(database(&self.path))?;
        let mut rows = statement.query([name]).map_err(database(&self.path))?;
        match rows.next().map_err(database(&self.path))? {
            Some(row) => self.decode_machine(row).map(Some),
            None => Ok(None),
        }
    }

    /// Every enrolled machine, by name.
    pub fn machines(&self) -> Result<Vec<MachineRecord>, DirectoryError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("SELECT {COLUMNS} FROM machines ORDER BY name"))
            .map_err(database(&self.path))?;
        let mut rows = statement.query([]).map_err(database(&self.path))?;
        let mut machines = Vec::new();
        while let Some(row) = rows.next().map_err(database(&self.path))? {
            machines.push(self.decode_machine(row)?);
        }
        Ok(machines)
    }

    /// Removes the machine enrolled as `name`; false if there was none. Its credential stays
    /// used: enrolling it again takes a new one.
    pub fn remove_machine(&mut self, name: &str) -> Result<bool, DirectoryError> {
        let removed = self
            .connection
            .execute("DELETE FROM machines WHERE name = ?1", [name])
            .map_err(database(&self.path))?;
        Ok(removed > 0)
    }

    /// Records that the machine enrolled as `name` connected at `now`.
    pub fn machine_seen(&mut self, name: &str, now: SystemTime) -> Result<(), DirectoryError> {
        let updated = self
            .connection
            .execute(
                "UPDATE machines SET last_seen_ms = ?2 WHERE name = ?1",
                params![name, to_ms(now)],
            )
            .map_err(database(&self.path))?;
        if updated == 0 {
            return Err(DirectoryError::UnknownMachine(name.to_owned()));
        }
        Ok(())
    }

    /// Reads one row selected with [`COLUMNS`].
    fn decode_machine(&self, row: &Row<'_>) -> Result<MachineRecord, DirectoryError> {
        let read = || -> rusqlite::Result<_> {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, Vec<u8>>(3)?,
                row.get::<_, Vec<u8>>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, Option<i64>>(6)?,
            ))
        };
        let (name, group, key, enrollment_cert, endorsement, enrolled_at, last_seen) =
            read().map_err(database(&self.path))?;
        let time = |ms: i64| {
            from_ms(ms).ok_or_else(|| {
                unreadable(
                    &self.path,
                    format!("machine {name:?}"),
                    format!("negative time {ms}"),
                )
            })
        };
        let enrolled_at = time(enrolled_at)?;
        let last_seen = last_seen.map(time).transpose()?;
        let machine_key = key
            .try_into()
            .map_err(|key: Vec<u8>| bad_key(&self.path, &name, key.len()))?;
        Ok(MachineRecord {
            name,
            group,
            machine_key,
            enrollment_cert,
            endorsement,
            enrolled_at,
            last_seen,
        })
    }
}

fn bad_key(path: &Path, name: &str, key_len: usize) -> DirectoryError {
    unreadable(
        path,
        format!("machine {name:?}"),
        format!("a key of {key_len} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::testing::{at, key, new_machine, open_temp};

    #[test]
    fn an_enrolled_machine_reads_back_whole() {
        let (_dir, mut directory) = open_temp();
        let enrolled = directory
            .enroll(new_machine("web-1", "web", "s1"), at(100))
            .unwrap();
        assert_eq!(enrolled, Enrolled::New);
        let record = directory.machine("web-1").unwrap().unwrap();
        assert_eq!(
            record,
            MachineRecord {
                name: "web-1".into(),
                group: "web".into(),
                machine_key: key("s1"),
                enrollment_cert: b"cert s1".to_vec(),
                endorsement: b"endorsement s1".to_vec(),
                enrolled_at: at(100),
                last_seen: None,
            }
        );
        assert_eq!(directory.machine("web-2").unwrap(), None);
        assert_eq!(directory.machines().unwrap(), [record]);
    }

    #[test]
    fn a_credential_enrolls_once_even_after_removal() {
        let (_dir, mut directory) = open_temp();
        directory
            .enroll(new_machine("web-1", "web", "s1"), at(1))
            .unwrap();
        let again = directory.enroll(new_machine("web-2", "web", "s1"), at(2));
        assert!(
            matches!(&again, Err(DirectoryError::CredentialUsed { serial, machine })
                if serial == "s1" && machine == "web-1"),
            "{again:?}"
        );
        assert_eq!(directory.machine("web-2").unwrap(), None);
        assert!(directory.remove_machine("web-1").unwrap());
        assert!(matches!(
            directory.enroll(new_machine("web-1", "web", "s1"), at(3)),
            Err(DirectoryError::CredentialUsed { .. })
        ));
    }

    #[test]
    fn a_fresh_credential_replaces_a_rebuilt_machines_key() {
        let (_dir, mut directory) = open_temp();
        directory
            .enroll(new_machine("web-1", "web", "s1"), at(1))
            .unwrap();
        directory.machine_seen("web-1", at(5)).unwrap();
        let enrolled = directory
            .enroll(new_machine("web-1", "front", "s2"), at(10))
            .unwrap();
        assert_eq!(
            enrolled,
            Enrolled::Replaced {
                previous_key: key("s1")
            }
        );
        let record = directory.machine("web-1").unwrap().unwrap();
        assert_eq!(record.machine_key, key("s2"));
        assert_eq!(record.group, "front");
        assert_eq!(record.enrolled_at, at(10));
        assert_eq!(record.last_seen, None);
        assert_eq!(directory.machines().unwrap().len(), 1);
    }

    #[test]
    fn machines_are_listed_by_name_and_removed_by_name() {
        let (_dir, mut directory) = open_temp();
        for (name, serial) in [("web-2", "a"), ("db-1", "b"), ("web-1", "c")] {
            directory
                .enroll(new_machine(name, "g", serial), at(1))
                .unwrap();
        }
        let names = |directory: &Directory| -> Vec<String> {
            directory
                .machines()
                .unwrap()
                .into_iter()
                .map(|m| m.name)
                .collect()
        };
        assert_eq!(names(&directory), ["db-1", "web-1", "web-2"]);
        assert!(directory.remove_machine("web-1").unwrap());
        assert!(!directory.remove_machine("web-1").unwrap());
        assert_eq!(names(&directory), ["db-1", "web-2"]);
    }

    #[test]
    fn last_contact_is_recorded_for_enrolled_machines_only() {
        let (_dir, mut directory) = open_temp();
        directory
            .enroll(new_machine("web-1", "web", "s1"), at(1))
            .unwrap();
        directory.machine_seen("web-1", at(7)).unwrap();
        let record = directory.machine("web-1").unwrap().unwrap();
        assert_eq!(record.last_seen, Some(at(7)));
        assert!(matches!(
            directory.machine_seen("nope", at(8)),
            Err(DirectoryError::UnknownMachine(name)) if name == "nope"
        ));
    }

    #[test]
    fn invalid_names_are_refused_before_using_the_credential() {
        let (_dir, mut directory) = open_temp();
        for (name, group) in [("web 1", "web"), ("web-1", ""), ("*", "web")] {
            assert!(matches!(
                directory.enroll(new_machine(name, group, "s1"), at(1)),
                Err(DirectoryError::InvalidName(_))
            ));
        }
        directory
            .enroll(new_machine("web-1", "web", "s1"), at(1))
            .unwrap();
    }

    #[test]
    fn a_damaged_key_is_reported_not_trusted() {
        let (_dir, mut directory) = open_temp();
        directory
            .enroll(new_machine("web-1", "web", "s1"), at(1))
            .unwrap();
        directory
            .connection
            .execute("UPDATE machines SET enrolled_at_ms = -5", [])
            .unwrap();
        let error = directory.machine("web-1").unwrap_err();
        assert!(
            matches!(error, DirectoryError::Unreadable { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("machine \"web-1\""), "{error}");
    }
}
