//! The relay's directory: enrolled machines, the technicians it has seen, and the access policy
//! (which role may open shells on which machines), in SQLite tables of the relay's database.
//!
//! The store is synchronous and its operations are tiny: the relay's async code calls it under a
//! mutex or from `spawn_blocking`. It has its own connection to the file the audit log uses
//! (WAL mode and a busy timeout let both work at once).

mod error;
mod machines;
mod name;
mod policy;
mod records;
mod rules;
mod schema;
mod store;
mod target;
mod technicians;
#[cfg(test)]
mod testing;
mod time;

pub use error::DirectoryError;
pub use name::{check as check_name, InvalidName};
pub use policy::{rule_matches, Rule};
pub use records::{Enrolled, MachineRecord, NewMachine, TechnicianRecord};
pub use store::Directory;
pub use target::{ParseTargetError, Target};
