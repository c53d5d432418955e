//! What enrollment leaves in the agent's state directory, for `run` to use.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tether_certs::{
    files::{read_bounded, read_bounded_text, write_private},
    AcceptedRoles, OrgTrust,
};
use tether_e2e::MachineKey;

use super::trust::MachineTrust;

const MACHINE_FILE: &str = "machine.toml";
const KEY_FILE: &str = "machine.key";
const CA_FILE: &str = "ca.pem";

/// The enrolled machine: its name, its relay, its key and its organisation's CA.
pub struct MachineState {
    /// The state directory.
    pub dir: PathBuf,
    /// What `machine.toml` says.
    pub record: MachineRecord,
    /// The technicians' roles it serves.
    pub accepted_roles: AcceptedRoles,
    /// The machine key.
    pub key: MachineKey,
    /// The organisation's CA, which technicians' certificates must chain to, and the newest
    /// revocation list.
    pub trust: MachineTrust,
}

/// `machine.toml`: the enrollment's public facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineRecord {
    /// The relay the machine enrolled with, `HOST:PORT`.
    pub relay: String,
    /// The machine's name.
    pub machine: String,
    /// Its group.
    pub group: String,
    /// The technicians' roles it serves, as its enrollment credential named them; absent when
    /// the credential named none (any role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_roles: Option<Vec<String>>,
}

impl MachineRecord {
    /// The technicians' roles the machine serves.
    pub fn accepted_roles(&self) -> anyhow::Result<AcceptedRoles> {
        let names = self.accept_roles.as_deref().unwrap_or_default();
        let roles = AcceptedRoles::from_names(names)
            .context("machine.toml names an invalid accepted role")?;
        anyhow::ensure!(
            self.accept_roles.is_none() || roles != AcceptedRoles::Any,
            "machine.toml lists no accepted role: leave accept_roles out to accept any"
        );
        Ok(roles)
    }
}

impl MachineState {
    /// Loads the state `tether-agent enroll` wrote to `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let machine_file = dir.join(MACHINE_FILE);
        let text = read_bounded_text(&machine_file).with_context(|| {
            format!(
                "this machine is not enrolled ({} is missing): run `tether-agent enroll` first",
                machine_file.display()
            )
        })?;
        let record: MachineRecord = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid machine record", machine_file.display()))?;
        let key_file = dir.join(KEY_FILE);
        let pkcs8 = read_bounded(&key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?;
        let key = MachineKey::from_pkcs8(&pkcs8)
            .with_context(|| format!("{} is not a machine key", key_file.display()))?;
        let accepted_roles = record
            .accepted_roles()
            .with_context(|| format!("in {}", machine_file.display()))?;
        let trust = MachineTrust::load(dir, OrgTrust::load(&dir.join(CA_FILE), None)?)?;
        Ok(Self {
            dir: dir.to_owned(),
            record,
            accepted_roles,
            key,
            trust,
        })
    }

    /// Whether `dir` already holds an enrollment.
    pub fn exists(dir: &Path) -> bool {
        dir.join(KEY_FILE).exists()
    }

    /// Writes a new enrollment's state: the record, the key (owner-only) and the CA.
    pub fn save(
        dir: &Path,
        record: &MachineRecord,
        pkcs8: &[u8],
        ca_pem: &str,
    ) -> anyhow::Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key_file = dir.join(KEY_FILE);
        write_private(&key_file, pkcs8)
            .with_context(|| format!("cannot create {}", key_file.display()))?;
        fs::write(dir.join(CA_FILE), ca_pem)
            .with_context(|| format!("cannot write {}", dir.join(CA_FILE).display()))?;
        let text = toml::to_string(record)?;
        fs::write(dir.join(MACHINE_FILE), text)
            .with_context(|| format!("cannot write {}", dir.join(MACHINE_FILE).display()))?;
        Ok(())
    }

    /// Removes what [`MachineState::save`] wrote (after a refused enrollment).
    pub fn discard(dir: &Path) {
        for file in [KEY_FILE, CA_FILE, MACHINE_FILE] {
            let _ = fs::remove_file(dir.join(file));
        }
    }
}
