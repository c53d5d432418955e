//! The flags that say which relay to dial and how to trust it, shared by agent and viewer.

use std::path::PathBuf;

use clap::Args;
use tether_certs::Fingerprint;
use tether_transport::{default_known_relays_path, RelayTarget};

/// `--relay`, `--relay-fingerprint` and `--known-relays`, each also read from the environment.
#[derive(Debug, Clone, Args)]
pub struct RelayArgs {
    /// The relay, as HOST:PORT.
    #[arg(long, env = "TETHER_RELAY")]
    pub relay: String,

    /// Require the relay's certificate to have this fingerprint (`sha256:HEX`, as the relay
    /// prints it). Without it the known-relays file is used, trusting a new relay on first use.
    #[arg(long, env = "TETHER_RELAY_FINGERPRINT")]
    pub relay_fingerprint: Option<Fingerprint>,

    /// The known-relays file (default: ~/.config/tether/known_relays).
    #[arg(long, env = "TETHER_KNOWN_RELAYS")]
    pub known_relays: Option<PathBuf>,
}

impl RelayArgs {
    /// The relay to dial, with the default known-relays file filled in.
    pub fn target(self) -> RelayTarget {
        RelayTarget {
            relay: self.relay,
            fingerprint: self.relay_fingerprint,
            known_relays: self.known_relays.unwrap_or_else(default_known_relays_path),
        }
    }
}
