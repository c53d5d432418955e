//! `tether-relay machines`, `technicians` and `policy`: the directory (enrolled machines,
//! technicians seen, access rules) for administrators, as tables or JSON.

use std::{
    io::{self, Write},
    process::ExitCode,
    time::SystemTime,
};

use serde::Serialize;

use crate::{
    directory::{
        check_name, rule_matches, Directory, DirectoryError, InvalidName, MachineRecord, Rule,
        Target, TechnicianRecord,
    },
    RelayConfig,
};

/// The directory's commands. They open the relay's database (see --database; created if
/// missing) and work while the relay runs.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// List the enrolled machines, or remove one.
    ///
    /// Prints each machine's name, group, key fingerprint (ed25519: and the first 16 hex digits
    /// of its key's SHA-256), when it enrolled and when it last connected. Exit codes: 0 done,
    /// 1 no such machine or the database cannot be used, 2 bad usage or configuration.
    #[command(args_conflicts_with_subcommands = true)]
    Machines(MachinesArgs),
    /// List the technicians who have connected with a verified certificate.
    ///
    /// Prints each one's name, role and certificate serial (the latest ones) and when they
    /// first and last connected. Exit codes: 0 done, 1 the database cannot be used, 2 bad
    /// usage or configuration.
    Technicians(ListArgs),
    /// List the access policy, or change it.
    ///
    /// Each rule says that technicians with a role (from their certificate) may open shells on
    /// a target: * (every machine), group:NAME (the machines enrolled in that group) or
    /// machine:NAME. A technician may reach a machine if any rule for their role covers it. A
    /// new database starts with one rule: admin may reach *. Exit codes: 0 done, 1 no such rule
    /// or the database cannot be used, 2 bad usage (e.g. a malformed ROLE or TARGET) or
    /// configuration.
    #[command(args_conflicts_with_subcommands = true)]
    Policy(PolicyArgs),
}

/// Options of the listing commands.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print a JSON array of objects instead of a table.
    #[arg(long)]
    json: bool,
}

/// `machines`.
#[derive(Debug, clap::Args)]
pub struct MachinesArgs {
    #[command(flatten)]
    list: ListArgs,
    #[command(subcommand)]
    action: Option<MachinesAction>,
}

#[derive(Debug, clap::Subcommand)]
enum MachinesAction {
    /// Forget an enrolled machine.
    ///
    /// Its key leaves the directory. The enrollment credential it used stays spent: enrolling
    /// it again takes a new one. Exit codes: 0 removed, 1 no such machine or the database
    /// cannot be used, 2 bad usage or configuration.
    Remove {
        /// The machine's name.
        name: String,
    },
}

/// `policy`.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    list: ListArgs,
    #[command(subcommand)]
    action: Option<PolicyAction>,
}

#[derive(Debug, clap::Subcommand)]
enum PolicyAction {
    /// Let technicians with ROLE reach TARGET (no change if a rule already says so).
    Allow {
        /// The role, as in technicians' certificates: 1 to 64 of A-Z a-z 0-9 . _ -
        #[arg(value_parser = role_arg)]
        role: String,
        /// *, group:NAME or machine:NAME (quote * from the shell).
        target: Target,
    },
    /// Remove the rule letting ROLE reach TARGET.
    ///
    /// Other rules covering the same machines (e.g. ROLE may reach *) stay. Exit code 1 if
    /// there is no such rule.
    Disallow {
        /// The role.
        #[arg(value_parser = role_arg)]
        role: String,
        /// *, group:NAME or machine:NAME, exactly as listed.
        target: Target,
    },
}

fn role_arg(text: &str) -> Result<String, InvalidName> {
    check_name("role", text)?;
    Ok(text.to_owned())
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum AdminError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("there is no rule \"{0}\" (see `tether-relay policy`)")]
    NoSuchRule(Rule),
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
}

/// Runs `command` on the directory in `config.database`, printing to stdout; errors go to
/// stderr. Exit codes as in the commands' help.
pub fn run(config: &RelayConfig, command: AdminCommand) -> ExitCode {
    let result = Directory::open(&config.database)
        .map_err(AdminError::from)
        .and_then(|mut directory| execute(&mut directory, command, &mut io::stdout().lock()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader (e.g. `head`) has seen enough.
        Err(AdminError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(
    directory: &mut Directory,
    command: AdminCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match command {
        AdminCommand::Machines(MachinesArgs {
            action: Some(MachinesAction::Remove { name }),
            ..
        }) => {
            if !directory.remove_machine(&name)? {
                return Err(DirectoryError::UnknownMachine(name).into());
            }
            writeln!(out, "removed machine {}", shown(&name))?;
        }
        AdminCommand::Machines(MachinesArgs { list, action: None }) => {
            print_machines(&directory.machines()?, list.json, out)?;
        }
        AdminCommand::Technicians(list) => {
            print_technicians(&directory.technicians()?, list.json, out)?;
        }
        AdminCommand::Policy(PolicyArgs { list, action: None }) => {
            print_rules(&directory.rules()?, list.json, out)?;
        }
        AdminCommand::Policy(PolicyArgs {
            action: Some(PolicyAction::Allow { role, target }),
            ..
        }) => {
            let added = directory.allow(&role, &target)?;
            let rule = Rule { role, target };
            writeln!(out, "{}: {rule}", if added { "added" } else { "unchanged" })?;
            // A misspelt group or machine would otherwise grant nothing, silently.
            let machines = directory.machines()?;
            if !machines
                .iter()
                .any(|machine| rule_matches(&rule, &rule.role, machine))
            {
                writeln!(out, "note: it covers no enrolled machine yet")?;
            }
        }
        AdminCommand::Policy(PolicyArgs {
            action: Some(PolicyAction::Disallow { role, target }),
            ..
        }) => {
            let removed = directory.disallow(&role, &target)?;
            let rule = Rule { role, target };
            if !removed {
                return Err(AdminError::NoSuchRule(rule));
            }
            writeln!(out, "removed: {rule}")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn print_machines(
    machines: &[MachineRecord],
    json: bool,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    if json {
        let rows: Vec<_> = machines
            .iter()
            .map(|machine| MachineJson {
                name: &machine.name,
                group: &machine.group,
                key: hex::encode(machine.machine_key),
                fingerprint: machine.key_fingerprint(),
                enrolled_at: time(machine.enrolled_at),
                last_seen: machine.last_seen.map(time),
            })
            .collect();
        return print_json(&rows, out);
    }
    if machines.is_empty() {
        writeln!(out, "no machines enrolled")?;
        return Ok(());
    }
    let rows: Vec<_> = machines
        .iter()
        .map(|machine| {
            [
                shown(&machine.name),
                shown(&machine.group),
                machine.key_fingerprint(),
                time(machine.enrolled_at),
                machine.last_seen.map_or_else(|| "never".to_owned(), time),
            ]
        })
        .collect();
    print_table(
        ["NAME", "GROUP", "KEY", "ENROLLED", "LAST SEEN"],
        &rows,
        out,
    )
}

fn print_technicians(
    technicians: &[TechnicianRecord],
    json: bool,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    if json {
        let rows: Vec<_> = technicians
            .iter()
            .map(|technician| TechnicianJson {
                name: &technician.name,
                role: &technician.role,
                serial: &technician.serial,
                first_seen: time(technician.first_seen),
                last_seen: time(technician.last_seen),
            })
            .collect();
        return print_json(&rows, out);
    }
    if technicians.is_empty() {
        writeln!(out, "no technicians seen yet")?;
        return Ok(());
    }
    let rows: Vec<_> = technicians
        .iter()
        .map(|technician| {
            [
                shown(&technician.name),
                shown(&technician.role),
                shown(&technician.serial),
                time(technician.first_seen),
                time(technician.last_seen),
            ]
        })
        .collect();
    print_table(
        ["NAME", "ROLE", "SERIAL", "FIRST SEEN", "LAST SEEN"],
        &rows,
        out,
    )
}

fn print_rules(rules: &[Rule], json: bool, out: &mut impl Write) -> Result<(), AdminError> {
    if json {
        let rows: Vec<_> = rules
            .iter()
            .map(|rule| RuleJson {
                role: &rule.role,
                target: rule.target.to_string(),
            })
            .collect();
        return print_json(&rows, out);
    }
    if rules.is_empty() {
        writeln!(out, "no rules: no technician may reach any machine")?;
        return Ok(());
    }
    let rows: Vec<_> = rules
        .iter()
        .map(|rule| [shown(&rule.role), rule.target.to_string()])
        .collect();
    print_table(["ROLE", "TARGET"], &rows, out)
}

/// Left-aligned columns two spaces apart, under a header.
fn print_table<const N: usize>(
    header: [&str; N],
    rows: &[[String; N]],
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line += &format!("{cell:<width$}  ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn print_json(rows: &impl Serialize, out: &mut impl Write) -> Result<(), AdminError> {
    serde_json::to_writer(&mut *out, rows).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `text` as is if it is plain, else quoted and escaped: names come from certificates and
/// from the database, and must not forge table lines or columns.
fn shown(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_graphic()) {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}

/// A machine as printed by `machines --json`.
#[derive(Serialize)]
struct MachineJson<'a> {
    name: &'a str,
    group: &'a str,
    /// The whole ed25519 key, hex.
    key: String,
    fingerprint: String,
    enrolled_at: String,
    last_seen: Option<String>,
}

/// A technician as printed by `technicians --json`.
#[derive(Serialize)]
struct TechnicianJson<'a> {
    name: &'a str,
    role: &'a str,
    serial: &'a str,
    first_seen: String,
    last_seen: String,
}

/// A rule as printed by `policy --json`.
#[derive(Serialize)]
struct RuleJson<'a> {
    role: &'a str,
    target: String,
}
