//! Command-line conventions shared by `tether-relay`, `tether-agent` and `tether-viewer`.

pub mod exit;
mod relay_args;
mod shutdown;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub use relay_args::RelayArgs;
pub use shutdown::shutdown_signal;

/// Sends logs to stderr (stdout is for the lines scripts read), filtered by `RUST_LOG` or else
/// `default_filter`, coloured only when stderr is a terminal.
pub fn init_logging(default_filter: &str) {
    init_logging_quieting(default_filter, &[]);
}

/// [`init_logging`], with `quiet` directives (`TARGET=LEVEL`) for dependencies that log normal
/// operation as warnings: they apply over `RUST_LOG` too, unless it names their target
/// itself, so their real failures (at the level kept) still show.
pub fn init_logging_quieting(default_filter: &str, quiet: &[&str]) {
    let env = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(env.as_deref(), default_filter, quiet))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The filter of [`init_logging_quieting`] for a `RUST_LOG` of `env`.
fn log_filter(env: Option<&str>, default_filter: &str, quiet: &[&str]) -> EnvFilter {
    let given = env.and_then(|env| EnvFilter::try_new(env).ok().map(|filter| (env, filter)));
    let (named, mut filter) = given.unwrap_or_else(|| ("", EnvFilter::new(default_filter)));
    for directive in quiet {
        let target = directive.split('=').next().unwrap_or(directive);
        if names(named, target) {
            continue;
        }
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Parses `WIDTHxHEIGHT`, e.g. `1280x720`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{v:?} is not a positive number"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Whether the filter `env` has a directive for `target` or a module above it.
fn names(env: &str, target: &str) -> bool {
    env.split(',')
        .filter_map(|directive| directive.split('=').next())
        .map(str::trim)
        .any(|named| {
            !named.is_empty()
                && target
                    .strip_prefix(named)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What `filter` lets through of a warning and an error from a dependency quieted to
    /// errors, and an info line of ours.
    fn logged_through(filter: EnvFilter) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "noisy::x11", "modifier 5 is unmapped");
            tracing::error!(target: "noisy::x11", "cannot reach the X server");
            tracing::info!(target: "tether_agent", "session started");
        });
        let out = out.lock().unwrap();
        String::from_utf8(out.clone()).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_quieted_dependency_keeps_its_errors_under_the_default_and_rust_log() {
        let quiet = ["noisy::x11=error"];
        for env in [None, Some("info"), Some("debug")] {
            let logged = logged_through(log_filter(env, "info", &quiet));
            assert!(!logged.contains("unmapped"), "{env:?}: {logged}");
            assert!(
                logged.contains("cannot reach the X server"),
                "{env:?}: {logged}"
            );
            assert!(logged.contains("session started"), "{env:?}: {logged}");
        }
        // Unless RUST_LOG asks for the dependency by name.
        let logged = logged_through(log_filter(Some("info,noisy=warn"), "info", &quiet));
        assert!(logged.contains("unmapped"), "{logged}");
    }

    #[test]
    fn sizes_parse_and_nonsense_does_not() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        for bad in ["1280", "0x10", "x", "ax1", "-1x5"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
