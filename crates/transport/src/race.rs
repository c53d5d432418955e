//! A peer's last word against the relay's news of its hang-up.
//!
//! A side that ends a conversation says its last word on the session stream (its user's no, a
//! handshake's abort, a program's exit status, its authenticated close) and then hangs up. The
//! relay sees the hang-up and tells the other side so on that side's control stream. Word and
//! news cross the relay on different streams, so the news can arrive first:
//!
//! ```text
//! agent                               relay                              viewer
//!   │── last word ─────────────────────▶│── session stream ─────────────────▶│ (2)
//!   │── close record; linger until the  │                                    │
//!   │   relay read it, ≤ CLOSE_LINGER   │                                    │
//!   │── hang up ───────────────────────▶│── Ended, on the control stream ───▶│ (1)
//! ```
//!
//! Whoever hears the news first gives the last word a short trailing window before believing
//! the news: [`race`] runs the race and the window and reports which came first and what
//! trailed; [`Trailing::wait`] is the window alone, for a race that is one branch of a larger
//! `select!`. What a trailing word means (a decline, an exit status, the user's end) is the
//! caller's decision, made by plain functions that its tests drive through every ordering.
//!
//! Each window is named by what it waits for ([`Trailing`]) and sized from [`CLOSE_LINGER`],
//! how long a closing side waits for its last bytes to be read before it hangs up.

use std::{future::Future, time::Duration};

use crate::CLOSE_LINGER;

/// What may trail the news that overtook it, and so how long it is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailing {
    /// The agent's answer to the viewer's hello, its user's no. The agent closes the stream
    /// after it, lingering until the relay has read both (at most [`CLOSE_LINGER`]), and only
    /// then hangs up: when the news comes first, the answer is in the relay's hands and
    /// follows within one more linger.
    Answer,
    /// The last word of a longer exchange: the abort of a handshake the agent refused, a
    /// program's exit status or the agent's close at the end of a shell. It trails as an
    /// answer does, and the reader may still be busy with what came before it (the program's
    /// last output to write out here): a second more than [`CLOSE_LINGER`].
    Outcome,
    /// The close of a peer that said it leaves: it tells the relay first (`Leaving`) and then
    /// closes its session stream, so the relay's news of its claim can come before the close,
    /// which is only a read and a write behind it at the relay.
    PeerLeaving,
    /// A shell served here that has sent the exit status: its close lingers (at most
    /// [`CLOSE_LINGER`]) while the viewer, which hangs up on reading the status, can already
    /// make news of it; half a second more for the shell to wind up.
    ShellExit,
    /// The relay's reason for a session stream that broke (the agent left, the relay cut the
    /// session): the relay sees the same break and says why at once, on the control stream;
    /// the window is for a relay under load.
    RelayReason,
    /// A party's claim to have ended the session (`Leaving`), at the relay, which heard first
    /// that the other party hung up without a word: the party that ends a session tells the
    /// relay why and closes its stream end to end, the other hangs up on reading that close,
    /// and this hang-up can reach the session's task before the claim. Shorter than
    /// [`Trailing::RelayReason`], so that a side waiting for the relay's reason hears it.
    Claim,
    /// The peer's close of its own side, which it sends once it has this side's last word:
    /// waited for before hanging up, so that the hang-up cannot overtake that word at the
    /// peer. As long as the peer itself waits for a trailing outcome.
    PeerClose,
}

impl Trailing {
    /// How long the trailing word is waited for.
    pub const fn window(self) -> Duration {
        match self {
            Trailing::Answer | Trailing::PeerLeaving | Trailing::Claim => CLOSE_LINGER,
            Trailing::Outcome | Trailing::RelayReason | Trailing::PeerClose => {
                CLOSE_LINGER.saturating_add(Duration::from_secs(1))
            }
            Trailing::ShellExit => CLOSE_LINGER.saturating_add(Duration::from_millis(500)),
        }
    }

    /// Waits for `word` at most [`Trailing::window`]; `None` if it did not come in time.
    pub async fn wait<T>(self, word: impl Future<Output = T>) -> Option<T> {
        tokio::time::timeout(self.window(), word).await.ok()
    }
}

/// How a race between a side's last word and the relay's news came out.
#[derive(Debug, PartialEq, Eq)]
pub enum Raced<W, N> {
    /// The word came first.
    Word(W),
    /// The news came first; `trailing` is the word if it followed within its window.
    News {
        /// The relay's news.
        news: N,
        /// The word that trailed the news, if it did in time.
        trailing: Option<W>,
    },
}

/// Waits for `word` or `news`, whichever comes first. When the news does, and `window` gives
/// it a trailing window (some news needs none: a reset, the user's own stop), `word` gets that
/// long more. Dropping `word` unfinished cancels it, as `select!` does.
pub async fn race<W, N>(
    word: impl Future<Output = W>,
    news: impl Future<Output = N>,
    window: impl FnOnce(&N) -> Option<Trailing>,
) -> Raced<W, N> {
    tokio::pin!(word);
    tokio::select! {
        word = &mut word => Raced::Word(word),
        news = news => {
            let trailing = match window(&news) {
                Some(trailing) => trailing.wait(&mut word).await,
                None => None,
            };
            Raced::News { news, trailing }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::{sleep, Instant};

    use super::*;

    /// A word (or news) that comes `after` from now, saying `what`.
    async fn at(after: Duration, what: &'static str) -> &'static str {
        sleep(after).await;
        what
    }

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn a_word_before_the_news_wins() {
        let raced = race(at(10 * MS, "exit 7"), at(20 * MS, "ended"), |_| {
            Some(Trailing::Outcome)
        });
        assert_eq!(raced.await, Raced::Word("exit 7"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_word_that_trails_the_news_within_its_window_is_kept() {
        let start = Instant::now();
        let word = at(10 * MS + Trailing::Answer.window() - MS, "declined");
        let raced = race(word, at(10 * MS, "ended"), |_| Some(Trailing::Answer)).await;
        let trailing = Some("declined");
        assert_eq!(
            raced,
            Raced::News {
                news: "ended",
                trailing
            }
        );
        assert_eq!(start.elapsed(), 9 * MS + Trailing::Answer.window());
    }

    #[tokio::test(start_paused = true)]
    async fn a_word_later_than_its_window_is_not_waited_for() {
        let start = Instant::now();
        let word = at(10 * MS + Trailing::ShellExit.window() + MS, "exit 0");
        let raced = race(word, at(10 * MS, "ended"), |_| Some(Trailing::ShellExit)).await;
        let trailing = None;
        assert_eq!(
            raced,
            Raced::News {
                news: "ended",
                trailing
            }
        );
        assert_eq!(start.elapsed(), 10 * MS + Trailing::ShellExit.window());
    }

    #[tokio::test(start_paused = true)]
    async fn news_without_a_window_is_believed_at_once() {
        let start = Instant::now();
        let raced = race(at(20 * MS, "exit 0"), at(10 * MS, "reset"), |_| None).await;
        let trailing = None;
        assert_eq!(
            raced,
            Raced::News {
                news: "reset",
                trailing
            }
        );
        assert_eq!(start.elapsed(), 10 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_can_depend_on_the_news() {
        let window = |news: &&str| (*news == "closed").then_some(Trailing::ShellExit);
        let closed = race(at(20 * MS, "exit 0"), at(10 * MS, "closed"), window).await;
        let trailing = Some("exit 0");
        assert_eq!(
            closed,
            Raced::News {
                news: "closed",
                trailing
            }
        );
        let reset = race(at(20 * MS, "exit 0"), at(10 * MS, "reset"), window).await;
        assert_eq!(
            reset,
            Raced::News {
                news: "reset",
                trailing: None
            }
        );
    }

    #[test]
    fn windows_are_sized_from_the_close_linger() {
        assert_eq!(CLOSE_LINGER, Duration::from_secs(1));
        let window = |trailing: Trailing| trailing.window().as_millis();
        assert_eq!(window(Trailing::Answer), 1000);
        assert_eq!(window(Trailing::PeerLeaving), 1000);
        assert_eq!(window(Trailing::Claim), 1000);
        assert!(Trailing::Claim.window() < Trailing::RelayReason.window());
        assert_eq!(window(Trailing::ShellExit), 1500);
        assert_eq!(window(Trailing::Outcome), 2000);
        assert_eq!(window(Trailing::RelayReason), 2000);
        assert_eq!(window(Trailing::PeerClose), 2000);
    }
}
