//! The organisation's trust at the machine: its CA, and the newest revocation list the relay
//! passed on. A list is taken only if the CA signed it and it is newer than the one held, so a
//! relay can neither forge revocations nor undo one by replaying an older list; it is kept in
//! the state directory so that a restart does not forget it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use anyhow::Context;
use tether_certs::{
    files::{read_bounded, write_atomic},
    OrgTrust,
};

/// Where the newest revocation list is kept (DER, as the CA signed it).
const CRL_FILE: &str = "crl.der";

/// The CA and the newest revocation list, shared by the machine's connection and its shells.
pub struct MachineTrust {
    current: Mutex<Arc<OrgTrust>>,
    crl_file: PathBuf,
}

impl MachineTrust {
    /// The CA in `ca`, with the revocation list kept in `dir` if there is one.
    pub fn load(dir: &Path, ca: OrgTrust) -> anyhow::Result<Self> {
        let crl_file = dir.join(CRL_FILE);
        let trust = match read_bounded(&crl_file) {
            Ok(der) => ca
                .with_newer_crl(&der)
                .with_context(|| format!("{} is not the organisation's", crl_file.display()))?
                .unwrap_or(ca),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ca,
            Err(e) => return Err(e).context(format!("cannot read {}", crl_file.display())),
        };
        Ok(Self {
            current: Mutex::new(Arc::new(trust)),
            crl_file,
        })
    }

    /// The trust in force now.
    pub fn current(&self) -> Arc<OrgTrust> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes `crl_der` if the CA signed it and it is newer than the list held, and keeps it;
    /// returns how many certificates it revokes, or `None` when it was not newer.
    pub fn take_crl(&self, crl_der: &[u8]) -> anyhow::Result<Option<usize>> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(newer) = current
            .with_newer_crl(crl_der)
            .context("the relay passed on a revocation list the organisation's CA did not sign")?
        else {
            return Ok(None);
        };
        // Atomically: a crash leaves the old list or the new one, never half of one.
        write_atomic(&self.crl_file, crl_der)
            .with_context(|| format!("cannot write {}", self.crl_file.display()))?;
        let revoked = newer.revoked_count();
        *current = Arc::new(newer);
        Ok(Some(revoked))
    }
}
