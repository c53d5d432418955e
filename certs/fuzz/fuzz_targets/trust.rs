//! Feeds hostile certificates and revocation lists to everything in `tether-certs` that reads
//! them from the network: the agent's check of a technician's chain (the unattended
//! handshake), the viewer's check of a machine's endorsement and of its standing in the CRL
//! (the relay's `Opened`), the agent's take of a relay-sent CRL (`Revocations`), and what a
//! certificate says of itself (its accepted roles included).
//!
//! Random bytes rarely get past DER's first tag, so most inputs are edits of real ones: at
//! start the target makes a fresh PKI (a CA, a technician, an enrollment, a CRL revoking
//! someone) and each input picks one of those and flips, and optionally cuts, its bytes. The
//! unedited samples must pass, which proves the harness reaches the checks. Anything edited
//! may be rejected; nothing may panic.
//!
//! Run from `certs`: `RUSTC_BOOTSTRAP=1 cargo fuzz run trust`.

#![no_main]

use std::{path::PathBuf, sync::OnceLock, time::Duration};

use libfuzzer_sys::fuzz_target;
use rustls_pki_types::{CertificateDer, UnixTime};
use tether_certs::{describe, endorsement_message, pki::Pki, AcceptedRoles, Credential, OrgTrust};

const MACHINE: &str = "web-01";
const MACHINE_KEY: [u8; 32] = [7; 32];

/// Real inputs from a fresh PKI, and the trust to check them against.
struct Samples {
    /// The CA without a CRL, so that any list it signed is newer.
    trust: OrgTrust,
    /// The CA with its CRL, as a viewer judges endorsements.
    with_crl: OrgTrust,
    now: UnixTime,
    ca: Vec<u8>,
    technician: Vec<u8>,
    enrollment: Vec<u8>,
    /// The enrollment credential's signature over [`MACHINE`] and [`MACHINE_KEY`].
    endorsement: Vec<u8>,
    crl: Vec<u8>,
}

impl Samples {
    fn make() -> Self {
        let dir = std::env::temp_dir().join(format!("tether-certs-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let samples = Self::make_in(dir.join("pki"));
        // The PKI's private keys are not needed past this point.
        let _ = std::fs::remove_dir_all(&dir);
        samples
    }

    fn make_in(dir: PathBuf) -> Self {
        let year = Duration::from_secs(365 * 24 * 3600);
        let (mut pki, _) = Pki::init(&dir, "Fuzz Org", year).expect("CA");
        pki.issue_technician("alice", "admin", year)
            .expect("technician");
        pki.issue_technician("bob", "admin", year)
            .expect("technician");
        let roles = AcceptedRoles::from_names(&["admin", "support"]).expect("roles");
        pki.issue_enrollment(MACHINE, "prod", &roles, year)
            .expect("enrollment");
        pki.revoke("bob", None).expect("revoke");
        let crl_path = pki.write_crl().expect("CRL");

        let (cert, key) = pki.technician_paths("alice");
        let technician = Credential::load(&cert, Some(&key)).expect("technician credential");
        let enrollment =
            Credential::load(&pki.enrollment_path(MACHINE), None).expect("enrollment bundle");
        let (_, endorsement) = enrollment
            .sign(&endorsement_message(MACHINE, &MACHINE_KEY))
            .expect("endorsement");
        let with_crl = OrgTrust::load(&pki.ca_cert_path(), Some(&crl_path)).expect("trust");
        Self {
            trust: OrgTrust::load(&pki.ca_cert_path(), None).expect("trust"),
            with_crl: with_crl.clone(),
            now: UnixTime::now(),
            ca: with_crl.ca_certificate().to_vec(),
            technician: technician.chain()[0].to_vec(),
            enrollment: enrollment.chain()[0].to_vec(),
            endorsement,
            crl: with_crl.crl_der().expect("a CRL").to_vec(),
        }
    }

    /// Runs every check on `input`, an edit of `original` if one was picked.
    fn check(&self, input: &[u8], original: Option<&[u8]>) {
        let unedited = original == Some(input);
        let cert = CertificateDer::from(input);
        let ca = CertificateDer::from(self.ca.as_slice());
        let technician = CertificateDer::from(self.technician.as_slice());

        let described = describe(&cert);
        let as_technician = self.trust.verify_technician(&[cert.clone(), ca], self.now);
        let _ = self
            .trust
            .verify_technician(&[technician, cert.clone()], self.now);
        let endorsed =
            self.trust
                .verify_endorsement(&cert, MACHINE, &MACHINE_KEY, &self.endorsement);
        let standing = self.with_crl.verify_standing_endorsement(
            &cert,
            MACHINE,
            &MACHINE_KEY,
            &self.endorsement,
        );
        let newer_crl = self.trust.with_newer_crl(input);

        if unedited {
            let original = original.unwrap_or_default();
            if original != self.crl.as_slice() {
                assert!(described.is_ok(), "{described:?}");
            }
            if original == self.technician.as_slice() {
                assert!(as_technician.is_ok(), "{as_technician:?}");
            }
            if original == self.enrollment.as_slice() {
                assert!(endorsed.is_ok(), "{endorsed:?}");
                assert!(standing.is_ok(), "{standing:?}");
                let roles = described
                    .as_ref()
                    .map(|info| info.accepted_roles.to_string());
                assert_eq!(roles.ok().as_deref(), Some("admin, support"));
            }
            if original == self.crl.as_slice() {
                assert!(matches!(newer_crl, Ok(Some(_))), "{newer_crl:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    let samples = SAMPLES.get_or_init(Samples::make);
    let Some((&pick, edits)) = data.split_first() else {
        return;
    };
    let original = match pick % 5 {
        0 => samples.ca.as_slice(),
        1 => samples.technician.as_slice(),
        2 => samples.enrollment.as_slice(),
        3 => samples.crl.as_slice(),
        _ => return samples.check(edits, None),
    };
    // Each three bytes flip one byte: a big-endian position, then the bits to flip. With the
    // top bit of `pick` set, the sample is also cut at the last position edited.
    let mut input = original.to_vec();
    let mut cut = input.len();
    for edit in edits.chunks_exact(3) {
        let position = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % input.len();
        input[position] ^= edit[2];
        cut = position;
    }
    if pick & 0x80 != 0 {
        input.truncate(cut);
    }
    samples.check(&input, Some(original));
});
