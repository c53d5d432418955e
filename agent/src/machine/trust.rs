//! The organisation's trust at the machine: its CA, and the newest revocation list the relay
//! passed on. A list is taken only if the CA signed it and it is newer than the one held, so a
//! relay can neither forge revocations nor undo one by replaying an older list; it is kept in
//! the state directory so that a restart does not forget it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use anyhow::Context;
use rustls::pki_types::{CertificateDer, UnixTime};
use tether_certs::{
    files::{read_bounded, write_atomic},
    CertError, OrgTrust,
};
use tokio::sync::watch;

/// Where the newest revocation list is kept (DER, as the CA signed it).
const CRL_FILE: &str = "crl.der";

/// The CA and the newest revocation list, shared by the machine's connection and its shells,
/// which follow it ([`MachineTrust::revoked`]).
pub struct MachineTrust {
    current: watch::Sender<Arc<OrgTrust>>,
    /// Held while a list is checked, kept and put in force, so that two cannot cross.
    updating: Mutex<()>,
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
            current: watch::Sender::new(Arc::new(trust)),
            updating: Mutex::new(()),
            crl_file,
        })
    }

    /// The trust in force now.
    pub fn current(&self) -> Arc<OrgTrust> {
        self.current.borrow().clone()
    }

    /// Resolves once a revocation list put in force revokes the technician whose certificate
    /// `chain` (end entity first, DER) is: a session it opened must end then, as at its expiry.
    /// Never resolves while the certificate stands.
    pub async fn revoked(&self, chain: &[Vec<u8>]) {
        let mut trust = self.current.subscribe();
        loop {
            if revokes(&trust.borrow_and_update(), chain) {
                return;
            }
            // The sender lives as long as `self`, which this borrows.
            let _ = trust.changed().await;
        }
    }

    /// Takes `crl_der` if the CA signed it and it is newer than the list held, and keeps it;
    /// returns how many certificates it revokes, or `None` when it was not newer.
    pub fn take_crl(&self, crl_der: &[u8]) -> anyhow::Result<Option<usize>> {
        let _updating = self.updating.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(newer) = self
            .current()
            .with_newer_crl(crl_der)
            .context("the relay passed on a revocation list the organisation's CA did not sign")?
        else {
            return Ok(None);
        };
        // Atomically: a crash leaves the old list or the new one, never half of one.
        write_atomic(&self.crl_file, crl_der)
            .with_context(|| format!("cannot write {}", self.crl_file.display()))?;
        let revoked = newer.revoked_count();
        self.current.send_replace(Arc::new(newer));
        Ok(Some(revoked))
    }
}

/// Whether `trust` refuses the technician certificate `chain` because it was revoked (its
/// expiry is judged apart, from the certificate's own date).
fn revokes(trust: &OrgTrust, chain: &[Vec<u8>]) -> bool {
    let chain: Vec<CertificateDer<'_>> = chain
        .iter()
        .map(|cert| CertificateDer::from(cert.as_slice()))
        .collect();
    matches!(
        trust.verify_technician(&chain, UnixTime::now()),
        Err(CertError::Revoked { .. })
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tether_certs::{pki::Pki, Credential};

    use super::*;

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    /// The chain of technician `name`, issued by `pki`, as the handshake hands it over.
    fn technician(pki: &mut Pki, name: &str) -> Vec<Vec<u8>> {
        let issued = pki.issue_technician(name, "admin", YEAR).expect("issue");
        let credential = Credential::load(&issued.files[0].path, Some(&issued.files[1].path))
            .expect("credential");
        credential
            .chain()
            .iter()
            .map(|cert| cert.to_vec())
            .collect()
    }

    #[tokio::test]
    async fn a_technicians_session_hears_of_its_certificates_revocation_and_no_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut pki, _) = Pki::init(&dir.path().join("pki"), "Example", YEAR).expect("CA");
        let alice = technician(&mut pki, "alice");
        let bob = technician(&mut pki, "bob");
        let ca = OrgTrust::load(&pki.ca_cert_path(), None).expect("CA");
        let trust = MachineTrust::load(dir.path(), ca).expect("trust");
        let mut alice_revoked = std::pin::pin!(trust.revoked(&alice));
        let mut bob_revoked = std::pin::pin!(trust.revoked(&bob));
        let soon = Duration::from_millis(50);
        assert!(tokio::time::timeout(soon, &mut alice_revoked)
            .await
            .is_err());

        pki.revoke("alice", None).expect("revoke");
        let listed = OrgTrust::load(&pki.ca_cert_path(), Some(&pki.crl_path())).expect("CRL");
        let crl = listed.crl_der().expect("a list").to_vec();
        assert_eq!(trust.take_crl(&crl).expect("taken"), Some(1));
        tokio::time::timeout(Duration::from_secs(5), &mut alice_revoked)
            .await
            .expect("alice's session hears of it");
        assert!(tokio::time::timeout(soon, &mut bob_revoked).await.is_err());
        // A session opened after the revocation (it would not be) hears of it at once.
        tokio::time::timeout(soon, trust.revoked(&alice))
            .await
            .expect("at once");
    }
}
