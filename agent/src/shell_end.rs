//! How the end of a shell served here is read, decided without IO: the shell's own result
//! races the news that the other side hung up ([`tether_transport::race`]), and these
//! functions say what the outcome of that race means.
//!
//! ```text
//! the shell ends first ──────────────────────────────▶ its result (exit status, the viewer
//!                                                      left, its connection was lost, failed)
//! the news comes first ─▶ the shell's exit status
//!   (the relay's Ended;    trailing within
//!    on the data path,     Trailing::ShellExit ───────▶ the exit status
//!    the viewer's clean    anything else, or nothing ─▶ the news
//!    close of the session
//!    stream)
//! the user's stop (attended) ────────────────────────▶ close, wait for the viewer's close,
//!                                                      "you ended the session"
//! ```
//!
//! The viewer hangs up once it has the exit status, and the shell's close lingers after sending
//! it: the news of that hang-up can arrive before the shell returns. The program's exit is the
//! truth to report, not the hang-up it caused.

use anyhow::bail;
use tether_proto::shell::ExitStatus;
use tether_shell::ShellError;
use tether_transport::{Raced, Trailing, TransportError};

/// What ended a shell session by code before its program: the relay's news (why, in words for
/// the user), or the user here.
pub(crate) enum Interrupted {
    /// The relay ended the session, or its control stream failed.
    Relay(anyhow::Result<String>),
    /// The user ended the session here.
    Stopped,
}

impl Interrupted {
    /// How long the shell's exit status may trail this: the relay's news of a hang-up may have
    /// overtaken it; the user's stop has nothing to wait for.
    pub fn trailing(&self) -> Option<Trailing> {
        matches!(self, Interrupted::Relay(_)).then_some(Trailing::ShellExit)
    }
}

/// What a shell session by code comes to.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The shell returned first, with this.
    Finished(Result<ExitStatus, ShellError>),
    /// The session is over: report this.
    Over(anyhow::Result<String>),
    /// The user ended it here.
    Stopped,
}

/// Reads the race between a shell session by code and what may interrupt it.
pub(crate) fn attended(raced: Raced<Result<ExitStatus, ShellError>, Interrupted>) -> Ending {
    match raced {
        Raced::Word(served) => Ending::Finished(served),
        Raced::News {
            news: Interrupted::Relay(_),
            trailing: Some(Ok(status)),
        } => Ending::Over(Ok(exited(&status))),
        Raced::News {
            news: Interrupted::Relay(news),
            ..
        } => Ending::Over(news),
        Raced::News {
            news: Interrupted::Stopped,
            ..
        } => Ending::Stopped,
    }
}

/// Why a shell session by code ended when the shell returned first, in words for the user.
pub(crate) fn finished(served: Result<ExitStatus, ShellError>) -> anyhow::Result<String> {
    match served {
        Ok(status) => Ok(exited(&status)),
        Err(ShellError::Closed) => Ok("the technician left".to_owned()),
        Err(ShellError::Transport(e)) if e.is_disconnect() => {
            Ok("the technician's connection was lost".to_owned())
        }
        Err(e) => bail!("the shell failed: {e}"),
    }
}

/// How the program's exit reads to the user.
fn exited(status: &ExitStatus) -> String {
    format!("the shell exited with code {}", status.code)
}

/// How long an enrolled machine's shell on the data path may trail the end of the session
/// stream: a clean close is the viewer's, once it has the exit status, and can overtake the
/// shell's own lingering close; a reset or an error ends the shell at once.
pub(crate) fn enrolled_trailing<T>(ended: &Result<Option<T>, TransportError>) -> Option<Trailing> {
    matches!(ended, Ok(None)).then_some(Trailing::ShellExit)
}

/// Reads the race between an enrolled machine's shell on the data path and the end of its
/// session stream (which stays quiet while the shell runs).
pub(crate) fn enrolled<T>(
    raced: Raced<anyhow::Result<ExitStatus>, Result<Option<T>, TransportError>>,
) -> anyhow::Result<ExitStatus> {
    match raced {
        Raced::Word(status) => status,
        Raced::News {
            trailing: Some(Ok(status)),
            ..
        } => Ok(status),
        Raced::News { .. } => bail!("the relay ended the session"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u32) -> ExitStatus {
        ExitStatus { code, signal: None }
    }

    fn viewer_left() -> Interrupted {
        Interrupted::Relay(Ok("the viewer disconnected".to_owned()))
    }

    fn reset() -> TransportError {
        TransportError::Connection(quinn::ConnectionError::Reset)
    }

    #[test]
    fn an_exit_status_that_trails_the_news_of_the_viewers_hang_up_is_reported() {
        let raced = Raced::News {
            news: viewer_left(),
            trailing: Some(Ok(status(7))),
        };
        let Ending::Over(Ok(reason)) = attended(raced) else {
            panic!("the session should be over");
        };
        assert_eq!(reason, "the shell exited with code 7");
    }

    #[test]
    fn without_a_trailing_exit_status_the_news_is_reported() {
        for trailing in [None, Some(Err(ShellError::Closed))] {
            let raced = Raced::News {
                news: viewer_left(),
                trailing,
            };
            let Ending::Over(Ok(reason)) = attended(raced) else {
                panic!("the session should be over");
            };
            assert_eq!(reason, "the viewer disconnected");
        }
        let broken = Raced::News {
            news: Interrupted::Relay(Err(anyhow::anyhow!("lost the relay"))),
            trailing: None,
        };
        let Ending::Over(Err(error)) = attended(broken) else {
            panic!("the session should be over with an error");
        };
        assert_eq!(error.to_string(), "lost the relay");
    }

    #[test]
    fn only_the_relays_news_waits_for_a_trailing_exit_status() {
        assert_eq!(viewer_left().trailing(), Some(Trailing::ShellExit));
        assert_eq!(Interrupted::Stopped.trailing(), None);
        let stopped = Raced::News {
            news: Interrupted::Stopped,
            trailing: None,
        };
        assert!(matches!(attended(stopped), Ending::Stopped));
    }

    #[test]
    fn a_shell_that_returns_first_reports_how() {
        assert!(matches!(
            attended(Raced::Word(Ok(status(0)))),
            Ending::Finished(Ok(_))
        ));
        let reason = |served| finished(served).map_err(|e| e.to_string());
        assert_eq!(
            reason(Ok(status(3))).as_deref(),
            Ok("the shell exited with code 3")
        );
        assert_eq!(
            reason(Err(ShellError::Closed)).as_deref(),
            Ok("the technician left")
        );
        assert_eq!(
            reason(Err(ShellError::Transport(reset()))).as_deref(),
            Ok("the technician's connection was lost")
        );
        let failed = reason(Err(ShellError::Protocol("garbage".to_owned())));
        assert_eq!(
            failed.unwrap_err(),
            "the shell failed: protocol violation: garbage"
        );
    }

    #[test]
    fn on_the_data_path_only_a_clean_close_waits_for_the_exit_status() {
        assert_eq!(
            enrolled_trailing::<()>(&Ok(None)),
            Some(Trailing::ShellExit)
        );
        assert_eq!(enrolled_trailing::<()>(&Err(reset())), None);
        assert_eq!(enrolled_trailing(&Ok(Some(()))), None);
    }

    #[test]
    fn on_the_data_path_an_exit_status_trailing_the_viewers_close_wins() {
        let raced = Raced::News {
            news: Ok::<Option<()>, _>(None),
            trailing: Some(Ok(status(5))),
        };
        assert_eq!(enrolled(raced).unwrap().code, 5);
        let cut_off = Raced::News {
            news: Ok::<Option<()>, _>(None),
            trailing: None,
        };
        let error = enrolled(cut_off).unwrap_err();
        assert_eq!(error.to_string(), "the relay ended the session");
        let reset = Raced::News {
            news: Err::<Option<()>, _>(reset()),
            trailing: None,
        };
        assert!(enrolled(reset).is_err());
        let first = Raced::<_, Result<Option<()>, TransportError>>::Word(Ok(status(0)));
        assert_eq!(enrolled(first).unwrap().code, 0);
    }
}
