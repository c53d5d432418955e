//! The organisation a relay serves: its CA, against which technicians' and enrolling agents'
//! client certificates are verified, and its revocation list, re-read when it changes so a
//! revocation takes effect without a restart.

use std::{
    fs,
    path::Path,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use anyhow::Context;
use quinn::Connection;
use rustls::{pki_types::CertificateDer, server::danger::ClientCertVerifier};
use tether_certs::{CertInfo, OrgTrust};
use tokio::sync::watch;

use crate::{config::OrgFiles, lock::lock};

/// The organisation's trust, reloadable.
pub(crate) struct Organisation {
    files: OrgFiles,
    state: Mutex<Loaded>,
    /// Told each time the CRL is reloaded, so online machines get the new list.
    reloaded: watch::Sender<()>,
}

struct Loaded {
    trust: Arc<OrgTrust>,
    /// The CRL file's modification time when it was read (`None`: there was none).
    crl_modified: Option<SystemTime>,
}

impl Organisation {
    /// Reads the CA and, if it exists, the CRL.
    pub fn load(files: OrgFiles) -> anyhow::Result<Self> {
        let loaded = load(&files)?;
        Ok(Self {
            files,
            state: Mutex::new(loaded),
            reloaded: watch::Sender::new(()),
        })
    }

    /// Wakes up each time a reloaded CRL is announced ([`Organisation::announce_reload`]) from
    /// then on.
    pub fn watch_reloads(&self) -> watch::Receiver<()> {
        self.reloaded.subscribe()
    }

    /// The trust in force now.
    pub fn trust(&self) -> Arc<OrgTrust> {
        lock(&self.state).trust.clone()
    }

    /// A client verifier for the trust in force now.
    pub fn client_verifier(&self) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
        Ok(self.trust().client_verifier()?)
    }

    /// Re-reads the CRL if the file changed since it was read; returns whether it did. The
    /// new list is in force at once, but announced only by [`Organisation::announce_reload`].
    pub fn reload_if_changed(&self) -> anyhow::Result<bool> {
        let modified = modified(&self.files.crl);
        let mut state = lock(&self.state);
        if modified == state.crl_modified {
            return Ok(false);
        }
        *state = load(&self.files)?;
        Ok(true)
    }

    /// Wakes those watching reloads (the machines' connections, which pass the list on).
    pub fn announce_reload(&self) {
        self.reloaded.send_replace(());
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(files: &OrgFiles) -> anyhow::Result<Loaded> {
    let crl_modified = modified(&files.crl);
    let crl = crl_modified.map(|_| files.crl.as_path());
    let trust = OrgTrust::load(&files.ca, crl)
        .with_context(|| format!("cannot load the organisation CA {}", files.ca.display()))?;
    Ok(Loaded {
        trust: Arc::new(trust),
        crl_modified,
    })
}

/// The client certificate chain a connection presented (already verified by TLS), if any.
pub(crate) fn peer_chain(connection: &Connection) -> Option<Vec<CertificateDer<'static>>> {
    connection
        .peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()
        .map(|chain| *chain)
        .filter(|chain| !chain.is_empty())
}

/// What a connection's verified client certificate says it is.
pub(crate) fn client_certificate(
    connection: &Connection,
) -> Option<(CertInfo, CertificateDer<'static>)> {
    let chain = peer_chain(connection)?;
    let leaf = chain.into_iter().next()?;
    let info = tether_certs::describe(&leaf).ok()?;
    Some((info, leaf))
}
