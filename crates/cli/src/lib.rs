//! Command-line conventions shared by `tether-relay`, `tether-agent` and `tether-viewer`.

pub mod exit;
mod relay_args;
mod shutdown;

use std::io::IsTerminal;

pub use relay_args::RelayArgs;
pub use shutdown::shutdown_signal;

/// Sends logs to stderr (stdout is for the lines scripts read), filtered by `RUST_LOG` or else
/// `default_filter`, coloured only when stderr is a terminal.
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_nonsense_does_not() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        for bad in ["1280", "0x10", "x", "ax1", "-1x5"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
