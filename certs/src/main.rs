//! `tether-certs`: the organisation PKI tool. Creates the CA, issues relay, technician and
//! enrollment certificates, lists them and revokes them. The work is done by
//! [`tether_certs::pki`]; this file parses arguments and prints what was written.

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, SystemTime},
};

use clap::{Parser, Subcommand, ValueEnum};
use tether_certs::{
    pki::{format_time, Issued, LedgerEntry, Pki, RevocableKind},
    AcceptedRoles, CertError, CertKind,
};

const AFTER_HELP: &str = "\
Files in DIR (keep DIR private and out of version control: it holds the CA key):
  ca.pem, ca.key            the CA certificate (what relays and clients trust) and its key (0600)
  ledger.json               every certificate issued, and revocations
  crl.pem                   the CA-signed revocation list the relay loads
  relay.pem, relay.key      the relay's certificate (followed by the CA's) and key (0600)
  technicians/NAME.pem/.key a technician's certificate (followed by the CA's) and key (0600)
  enrollments/MACHINE.pem   an enrollment bundle: certificate, CA certificate and key (0600),
                            deleted by `enrolled MACHINE` once the machine has enrolled

Durations are like 90d, 24h, 10y, 1h30m. Names, roles and groups are 1 to 64 of A-Z a-z 0-9 . _ -
Exit status: 0 done, 1 error, 2 bad usage.";

/// The Tether organisation PKI: a CA for relays, technicians and machine enrollment.
#[derive(Debug, Parser)]
#[command(name = "tether-certs", version, after_help = AFTER_HELP)]
struct Cli {
    /// The PKI directory.
    #[arg(
        long,
        global = true,
        env = "TETHER_PKI_DIR",
        default_value = "./pki",
        value_name = "DIR"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the organisation CA: ca.pem, ca.key, ledger.json and an empty crl.pem.
    ///
    /// Refuses to overwrite an existing CA.
    Init {
        /// The organisation's name (the O of every certificate, and the CA's CN).
        #[arg(long, value_name = "NAME")]
        org: String,
        /// How long the CA is valid; nothing it issues may outlive it.
        #[arg(long, default_value = "10y", value_parser = parse_validity, value_name = "DURATION")]
        valid_for: Duration,
    },
    /// Issue the relay's server certificate: relay.pem and relay.key.
    Relay {
        /// DNS names and/or IP addresses clients dial the relay by (the first is its CN).
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// How long the certificate is valid.
        #[arg(long, default_value = "825d", value_parser = parse_validity, value_name = "DURATION")]
        valid_for: Duration,
    },
    /// Issue a technician's client certificate: technicians/NAME.pem and technicians/NAME.key.
    Technician {
        /// The technician's name.
        name: String,
        /// The technician's role, which the relay reads to decide what they may do.
        #[arg(long)]
        role: String,
        /// How long the certificate is valid.
        #[arg(long, default_value = "90d", value_parser = parse_validity, value_name = "DURATION")]
        valid_for: Duration,
    },
    /// Issue a server's enrollment credential: enrollments/MACHINE.pem.
    ///
    /// One 0600 file with the certificate, the CA certificate and the key: hand it to the
    /// machine, which uses it once to enroll (and then deletes it), then run `tether-certs
    /// enrolled MACHINE`.
    Enroll {
        /// The machine's name.
        machine: String,
        /// The machine group it joins.
        #[arg(long, default_value = "default")]
        group: String,
        /// A technicians' role the machine serves (repeat for several). The machine keeps the
        /// list from its enrollment and refuses every other role itself, whatever the relay's
        /// access policy lets through. Without it, the machine serves any role.
        #[arg(long = "accept-role", value_name = "ROLE")]
        accept_roles: Vec<String>,
        /// How long the credential can be used to enroll.
        #[arg(long, default_value = "24h", value_parser = parse_validity, value_name = "DURATION")]
        valid_for: Duration,
    },
    /// Retire MACHINE's enrollment credential once `tether-agent enroll` has succeeded.
    ///
    /// Lists it on the CRL as used (no relay takes it again; viewers keep accepting the key it
    /// endorsed), lists the machine's earlier credentials as superseded (viewers refuse the
    /// keys they endorsed, as after a re-enrollment), deletes enrollments/MACHINE.pem (this
    /// directory's copy of its key) and rewrites crl.pem: give the new crl.pem to the relay
    /// and to technicians, next to their ca.pem.
    Enrolled {
        /// The machine's name, or the credential's serial (hex, as `list` shows it).
        #[arg(value_name = "MACHINE_OR_SERIAL")]
        target: String,
    },
    /// List everything issued: serial, kind, name, role or group, not-after, status.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a certificate by name or serial, and rewrite crl.pem.
    Revoke {
        /// The certificate's name, or its serial (hex, as `list` shows it).
        #[arg(value_name = "NAME_OR_SERIAL")]
        target: String,
        /// Only consider certificates of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Rewrite crl.pem with a fresh next-update (do this before the current one passes).
    Crl,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Technician,
    Enrollment,
    Relay,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-certs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CertError> {
    let dir = cli.dir;
    match cli.command {
        Command::Init { org, valid_for } => {
            let (pki, issued) = Pki::init(&dir, &org, valid_for)?;
            print_issued(&issued);
            println!("CA fingerprint: {}", issued.entry.fingerprint);
            print_crl(&pki);
        }
        Command::Relay { names, valid_for } => {
            print_issued(&Pki::open(&dir)?.issue_relay(&names, valid_for)?);
        }
        Command::Technician {
            name,
            role,
            valid_for,
        } => print_issued(&Pki::open(&dir)?.issue_technician(&name, &role, valid_for)?),
        Command::Enroll {
            machine,
            group,
            accept_roles,
            valid_for,
        } => {
            let accepted = AcceptedRoles::from_names(&accept_roles)?;
            let issued =
                Pki::open(&dir)?.issue_enrollment(&machine, &group, &accepted, valid_for)?;
            print_issued(&issued);
            println!("the machine will accept technicians of {accepted}");
        }
        Command::Enrolled { target } => {
            let mut pki = Pki::open(&dir)?;
            let (entry, deleted) = pki.mark_enrolled(&target)?;
            println!(
                "enrollment credential of {} (serial {}) marked used",
                entry.name, entry.serial
            );
            if let Some(path) = deleted {
                println!(
                    "deleted {} (the credential and its private key)",
                    path.display()
                );
            }
            print_crl(&pki);
        }
        Command::List { json } => {
            let pki = Pki::open(&dir)?;
            let entries = &pki.ledger().certificates;
            if json {
                print_json(entries);
            } else {
                print_table(entries);
                print_crl(&pki);
            }
        }
        Command::Revoke { target, kind } => {
            let mut pki = Pki::open(&dir)?;
            let kind = kind.map(|kind| match kind {
                KindArg::Technician => RevocableKind::Technician,
                KindArg::Enrollment => RevocableKind::Enrollment,
                KindArg::Relay => RevocableKind::Relay,
            });
            let entry = pki.revoke(&target, kind)?;
            println!(
                "revoked {} {} (serial {})",
                entry.kind.label(),
                entry.name,
                entry.serial
            );
            print_crl(&pki);
        }
        Command::Crl => {
            let mut pki = Pki::open(&dir)?;
            pki.write_crl()?;
            print_crl(&pki);
        }
    }
    Ok(())
}

/// humantime durations, at least a second (certificates count in whole seconds).
fn parse_validity(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(duration)
}

fn print_issued(issued: &Issued) {
    for file in &issued.files {
        let note = if file.private {
            " (private key, mode 0600)"
        } else {
            ""
        };
        println!("wrote {}{note}", file.path.display());
    }
    let entry = &issued.entry;
    let detail = match entry.role_or_group() {
        Some(detail) => format!(" ({detail})"),
        None => String::new(),
    };
    println!(
        "{} {}{detail}: serial {}, not after {}",
        entry.kind.label(),
        entry.name,
        entry.serial,
        format_time(entry.not_after)
    );
}

fn print_crl(pki: &Pki) {
    let ledger = pki.ledger();
    let next = ledger
        .crl_next_update
        .map_or_else(|| "unknown".to_owned(), format_time);
    println!(
        "CRL {}: number {}, next update {next}",
        pki.crl_path().display(),
        ledger.crl_number,
    );
}

fn print_table(entries: &[LedgerEntry]) {
    let now = SystemTime::now();
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|entry| {
            [
                entry.serial.clone(),
                entry.kind.label().to_owned(),
                entry.name.clone(),
                entry.role_or_group().unwrap_or("-").to_owned(),
                format_time(entry.not_after),
                entry.status(now).label().to_owned(),
            ]
        })
        .collect();
    let header = [
        "SERIAL",
        "KIND",
        "NAME",
        "ROLE/GROUP",
        "NOT AFTER",
        "STATUS",
    ]
    .map(String::from);
    let mut widths = [0; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

fn print_json(entries: &[LedgerEntry]) {
    let now = SystemTime::now();
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| {
            let mut item = serde_json::json!({
                "serial": entry.serial,
                "kind": entry.kind.label(),
                "name": entry.name,
                "not_before": format_time(entry.not_before),
                "not_after": format_time(entry.not_after),
                "status": entry.status(now).label(),
                "fingerprint": entry.fingerprint,
            });
            let extra = match &entry.kind {
                CertKind::Technician { role } => Some(("role", role.as_str().into())),
                CertKind::Enrollment { group } => Some(("group", group.as_str().into())),
                CertKind::Relay => Some(("names", entry.names.clone().into())),
                CertKind::Ca => None,
            };
            if let (Some((key, value)), Some(object)) = (extra, item.as_object_mut()) {
                object.insert(key.to_owned(), value);
            }
            if let (Some(at), Some(object)) = (entry.revoked_at, item.as_object_mut()) {
                object.insert("revoked_at".to_owned(), format_time(at).into());
            }
            if let (Some(because), Some(object)) = (entry.revoked_because, item.as_object_mut()) {
                object.insert("revoked_because".to_owned(), serde_json::json!(because));
            }
            item
        })
        .collect();
    // Serialising plain JSON values cannot fail; print nothing rather than panic if it did.
    if let Ok(text) = serde_json::to_string_pretty(&list) {
        println!("{text}");
    }
}
