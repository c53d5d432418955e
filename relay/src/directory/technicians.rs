//! Technicians, recorded as they connect with a certificate the relay's TLS layer verified.

use std::time::SystemTime;

use rusqlite::params;

use super::{
    store::{database, unreadable},
    time::{from_ms, to_ms},
    Directory, DirectoryError, TechnicianRecord,
};

impl Directory {
    /// Records that technician `name` connected at `now` with a certificate for `role` and
    /// serial `serial`; the latest role and serial replace earlier ones.
    pub fn technician_seen(
        &mut self,
        name: &str,
        role: &str,
        serial: &str,
        now: SystemTime,
    ) -> Result<(), DirectoryError> {
        let at = to_ms(now);
        self.connection
            .execute(
                "INSERT INTO technicians (name, role, serial, first_seen_ms, last_seen_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT (name) DO UPDATE SET \
                 role = excluded.role, serial = excluded.serial, last_seen_ms = excluded.last_seen_ms",
                params![name, role, serial, at],
            )
            .map_err(database(&self.path))?;
        Ok(())
    }

    /// Every technician seen, by name.
    pub fn technicians(&self) -> Result<Vec<TechnicianRecord>, DirectoryError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT name, role, serial, first_seen_ms, last_seen_ms FROM technicians \
                 ORDER BY name",
            )
            .map_err(database(&self.path))?;
        let mut rows = statement.query([]).map_err(database(&self.path))?;
        let mut technicians = Vec::new();
        while let Some(row) = rows.next().map_err(database(&self.path))? {
            let read = || -> rusqlite::Result<(String, String, String, i64, i64)> {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            };
            let (name, role, serial, first_seen, last_seen) =
                read().map_err(database(&self.path))?;
            let time = |ms: i64| {
                from_ms(ms).ok_or_else(|| {
                    unreadable(
                        &self.path,
                        format!("technician {name:?}"),
                        format!("negative time {ms}"),
                    )
                })
            };
            technicians.push(TechnicianRecord {
                first_seen: time(first_seen)?,
                last_seen: time(last_seen)?,
                name,
                role,
                serial,
            });
        }
        Ok(technicians)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::testing::{at, open_temp};

    #[test]
    fn a_technician_is_one_row_updated_on_each_visit() {
        let (_dir, mut directory) = open_temp();
        directory
            .technician_seen("bob", "ops", "b1", at(5))
            .unwrap();
        directory
            .technician_seen("ann", "ops", "a1", at(10))
            .unwrap();
        directory
            .technician_seen("ann", "admin", "a2", at(20))
            .unwrap();
        assert_eq!(
            directory.technicians().unwrap(),
            [
                TechnicianRecord {
                    name: "ann".into(),
                    role: "admin".into(),
                    serial: "a2".into(),
                    first_seen: at(10),
                    last_seen: at(20),
                },
                TechnicianRecord {
                    name: "bob".into(),
                    role: "ops".into(),
                    serial: "b1".into(),
                    first_seen: at(5),
                    last_seen: at(5),
                },
            ]
        );
    }
}
