//! What to execute for a shell request: the program, the account, the working directory.

use std::{
    ffi::{OsStr, OsString},
    fmt,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use nix::unistd::{geteuid, User};
use portable_pty::CommandBuilder;

use super::ShellConfig;

/// A program ready to start on a terminal or on pipes.
pub(super) struct Launch {
    program: Program,
    /// `None`: the agent account's home.
    cwd: Option<PathBuf>,
}

enum Program {
    /// The agent account's shell, as a login shell (`argv[0]` starting with `-`).
    LoginShell,
    Argv {
        program: OsString,
        args: Vec<OsString>,
    },
}

impl Launch {
    /// Decides what runs: the viewer's command, else the configured shell, else the account's
    /// login shell; as `config.user` when set. The error is a reason for the viewer.
    pub(super) fn resolve(
        command: Option<Vec<String>>,
        config: &ShellConfig,
    ) -> Result<Self, String> {
        let argv = match command.or_else(|| config.shell.clone()) {
            Some(argv) => {
                let mut argv = argv.into_iter().map(OsString::from);
                // The viewer's command passed `ShellOpen::check`; only the configured one can be empty.
                let program = argv.next().ok_or("the agent's shell setting is empty")?;
                Some((program, argv.collect::<Vec<_>>()))
            }
            None => None,
        };
        let Some(name) = &config.user else {
            return Ok(Self::own(argv));
        };
        let account = User::from_name(name)
            .map_err(|error| format!("cannot look up the account {name:?}: {error}"))?
            .ok_or_else(|| format!("there is no account {name:?} on this machine"))?;
        if account.uid == geteuid() {
            return Ok(Self::own(argv));
        }
        if !geteuid().is_root() {
            return Err(format!(
                "the agent must run as root to start shells as {name:?}"
            ));
        }
        let (program, mut program_args) = argv.unwrap_or_else(|| {
            let shell = if account.shell.as_os_str().is_empty() {
                OsString::from("/bin/sh")
            } else {
                account.shell.into_os_string()
            };
            // setpriv cannot set argv[0]; every common shell takes -l for a login shell.
            (shell, vec![OsString::from("-l")])
        });
        let mut args: Vec<OsString> = vec![
            format!("--reuid={}", account.uid).into(),
            format!("--regid={}", account.gid).into(),
            "--init-groups".into(),
            "--reset-env".into(),
            "--".into(),
            program,
        ];
        args.append(&mut program_args);
        Ok(Self {
            program: Program::Argv {
                program: "setpriv".into(),
                args,
            },
            cwd: Some(existing_dir(Some(account.dir))),
        })
    }

    fn own(argv: Option<(OsString, Vec<OsString>)>) -> Self {
        Self {
            program: argv.map_or(Program::LoginShell, |(program, args)| Program::Argv {
                program,
                args,
            }),
            cwd: None,
        }
    }

    /// The command for a pseudo-terminal; portable-pty finds the login shell and the home.
    pub(super) fn pty_command(&self) -> CommandBuilder {
        let mut command = match &self.program {
            Program::LoginShell => CommandBuilder::new_default_prog(),
            Program::Argv { program, args } => {
                let mut command = CommandBuilder::new(program);
                command.args(args);
                command
            }
        };
        if let Some(cwd) = &self.cwd {
            command.cwd(cwd);
        }
        command
    }

    /// The command for pipes, with the same program and directory as on a terminal.
    pub(super) fn pipe_command(&self) -> tokio::process::Command {
        let mut command = match &self.program {
            Program::LoginShell => {
                let shell = CommandBuilder::new_default_prog().get_shell();
                let name = Path::new(&shell)
                    .file_name()
                    .map_or(shell.as_bytes(), OsStr::as_bytes);
                let mut login_name = b"-".to_vec();
                login_name.extend_from_slice(name);
                let mut command = tokio::process::Command::new(&shell);
                command.arg0(OsStr::from_bytes(&login_name));
                command
            }
            Program::Argv { program, args } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args);
                command
            }
        };
        command.current_dir(existing_dir(self.cwd.clone().or_else(dirs::home_dir)));
        command
    }
}

/// `dir` if it is a directory, else `/`: a missing home must not keep the program from starting.
fn existing_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.filter(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl fmt::Display for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.program {
            Program::LoginShell => f.write_str("the login shell"),
            Program::Argv { program, args } => {
                write!(f, "{:?}", program)?;
                for arg in args {
                    write!(f, " {:?}", arg)?;
                }
                Ok(())
            }
        }
    }
}
