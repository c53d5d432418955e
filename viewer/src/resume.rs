//! Taking the session back after the viewer's connection to the relay was lost: dial again
//! with backoff for as long as the relay keeps the session, present the relay's resume ticket,
//! then prove to the agent, end to end, that this is the same viewer (which re-keys the
//! session stream). The relay's ticket alone convinces only the relay.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use tether_e2e::ResumptionSecret;
use tether_proto::{
    control::{ClientMessage, RelayMessage},
    session::{AgentMessage, ViewerMessage},
};
use tether_transport::{
    viewer_resume, Backoff, RelayTarget, SecureReceiver, SecureSender, SecureStream, TransportError,
};

use crate::{
    ending::StreamBroke,
    relay_link::{LinkError, RelayLink, Ticket},
    ViewerError,
};

/// How long one attempt to reach the relay may take: during an outage nothing answers.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// The first and the longest wait between attempts: short, since every second the session
/// is paused counts.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_millis(500);

/// The viewer's halves of a session stream.
pub(crate) type SessionStream = (SecureSender<ViewerMessage>, SecureReceiver<AgentMessage>);

/// What the viewer needs to take its session back.
pub(crate) struct Resumption {
    /// The relay's session id.
    pub session_id: u64,
    /// The relay's latest ticket, if it keeps sessions for lost viewers.
    pub ticket: Option<Ticket>,
    /// The end-to-end secret of the latest session stream.
    pub secret: ResumptionSecret,
}

/// Why one attempt failed.
enum Failed {
    /// The relay could not be reached (yet): try again.
    Retry(String),
    /// The session cannot be taken back.
    Fatal(ViewerError),
}

/// Dials the relay with backoff until the session is taken back, returning the new link and
/// session stream, or until the relay's grace period is over.
pub(crate) async fn resume(
    target: &RelayTarget,
    resumption: &mut Resumption,
) -> Result<(RelayLink, SessionStream), ViewerError> {
    let grace = match &resumption.ticket {
        Some(ticket) => ticket.grace,
        None => return Err(anyhow!("the relay keeps no session for a lost viewer").into()),
    };
    // The relay counts its grace period from when it noticed the loss, about now.
    let mut retries = Retries::new(Instant::now(), grace);
    loop {
        let why = match attempt(target, resumption).await {
            Ok(resumed) => return Ok(resumed),
            Err(Failed::Fatal(e)) => return Err(e),
            Err(Failed::Retry(why)) => why,
        };
        tracing::debug!("resume attempt failed: {why}");
        let Some(wait) = retries.next_wait(Instant::now(), rand::random()) else {
            return Err(anyhow!(
                "lost the connection to the relay and could not take the session back within \
                 {} s: {why}",
                grace.as_secs()
            )
            .into());
        };
        tokio::time::sleep(wait).await;
    }
}

/// When to try again: backoff from [`FIRST_RETRY`] up to [`MAX_RETRY`], jittered so that
/// the viewers of a relay that restarted do not all come back at once, for as long as the next
/// attempt still falls within the relay's grace period.
struct Retries {
    backoff: Backoff,
    deadline: Instant,
}

impl Retries {
    /// Retries for a session lost at `lost_at` that the relay keeps for `grace`.
    fn new(lost_at: Instant, grace: Duration) -> Self {
        Self {
            backoff: Backoff::new(FIRST_RETRY, MAX_RETRY),
            deadline: lost_at + grace,
        }
    }

    /// How long to wait, from `now`, before the next attempt; `None` when that attempt would
    /// come too late, the relay having ended the session by then. `jitter` is a random number
    /// in [0, 1).
    fn next_wait(&mut self, now: Instant, jitter: f64) -> Option<Duration> {
        let wait = self.backoff.next_delay(jitter);
        (now + wait < self.deadline).then_some(wait)
    }
}

/// One attempt: dial, present the ticket, and re-key the session stream with the agent.
async fn attempt(
    target: &RelayTarget,
    resumption: &mut Resumption,
) -> Result<(RelayLink, SessionStream), Failed> {
    let ticket = match &resumption.ticket {
        Some(ticket) => ticket.ticket.clone(),
        None => return Err(Failed::Fatal(anyhow!("no resume ticket left").into())),
    };
    let mut link = match tokio::time::timeout(CONNECT_TIMEOUT, RelayLink::open(target)).await {
        Ok(Ok(link)) => link,
        Ok(Err(LinkError::Connect(e))) if !e.worth_retrying() => {
            return Err(Failed::Fatal(e.into()))
        }
        Ok(Err(e)) => return Err(Failed::Retry(e.to_string())),
        Err(_) => return Err(Failed::Retry("the relay did not answer".to_owned())),
    };
    let resume = ClientMessage::Resume {
        session_id: resumption.session_id,
        ticket,
    };
    if let Err(e) = link.say(&resume).await {
        return Err(Failed::Retry(e.to_string()));
    }
    let mut unexpected_ticket = None;
    match link.next(&mut unexpected_ticket).await {
        Ok(Some(RelayMessage::Resumed)) => {}
        Ok(Some(RelayMessage::Refused { reason })) => {
            return Err(Failed::Fatal(ViewerError::Refused(reason)))
        }
        Ok(Some(RelayMessage::Ended { reason })) => {
            return Err(Failed::Fatal(ViewerError::Ended(reason)))
        }
        Ok(other) => {
            let unexpected = anyhow!("unexpected answer to a resume from the relay: {other:?}");
            return Err(Failed::Fatal(unexpected.into()));
        }
        // The ticket may not have reached the relay: it may still work.
        Err(e) => return Err(Failed::Retry(e.to_string())),
    }
    // The relay spent the ticket, and gives the next one right after its answer.
    resumption.ticket = None;
    match link.next_ticket().await {
        Ok(ticket) => resumption.ticket = Some(ticket),
        Err(e) => return Err(broke(&link, format!("{e:#}"))),
    }
    let stream = match link.connection.open_bi().await {
        Ok(stream) => stream,
        Err(e) => return Err(broke(&link, e.to_string())),
    };
    match viewer_resume(stream, &resumption.secret, resumption.session_id).await {
        Ok(SecureStream {
            send,
            recv,
            resumption: secret,
            ..
        }) => {
            resumption.secret = secret;
            Ok((link, (send, recv)))
        }
        Err(TransportError::E2e(e)) => Err(Failed::Fatal(ViewerError::Insecure(e))),
        Err(e) if link.lost() => Err(Failed::Retry(e.to_string())),
        Err(e) => {
            // The relay usually says why at the same moment (e.g. the agent left).
            let broke = anyhow!("the session stream broke while resuming: {e}");
            let mut ticket = None;
            let explained = link.explain(&mut ticket, StreamBroke::unexplained(broke.into()));
            Err(Failed::Fatal(explained.await))
        }
    }
}

/// A resume that broke after the relay took the connection: worth another attempt (with the
/// new ticket) only if the connection was lost, since the relay ends a session whose viewer
/// closed its connection.
fn broke(link: &RelayLink, why: String) -> Failed {
    if link.lost() {
        Failed::Retry(why)
    } else {
        Failed::Fatal(anyhow!("lost the relay while resuming: {why}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_before_the_relay_gives_up() {
        let lost_at = Instant::now();
        let mut retries = Retries::new(lost_at, Duration::from_secs(1));
        // Without jitter: 100, 200, 400 ms, then 500 ms at most.
        let mut now = lost_at;
        let mut waits = Vec::new();
        while let Some(wait) = retries.next_wait(now, 1.0) {
            waits.push(wait.as_millis());
            now += wait;
        }
        // The next wait (500 ms, from 700 ms) would end past the deadline at 1 s.
        assert_eq!(waits, vec![100, 200, 400]);
    }

    #[test]
    fn jitter_shortens_a_wait_to_half_at_most() {
        let lost_at = Instant::now();
        let mut retries = Retries::new(lost_at, Duration::from_secs(30));
        assert_eq!(retries.next_wait(lost_at, 0.0), Some(FIRST_RETRY / 2));
        assert_eq!(retries.next_wait(lost_at, 0.0), Some(FIRST_RETRY));
    }

    #[test]
    fn a_wait_ending_at_the_deadline_is_not_taken() {
        let lost_at = Instant::now();
        let mut retries = Retries::new(lost_at, Duration::from_secs(1));
        let late = lost_at + Duration::from_secs(1) - FIRST_RETRY / 2;
        assert_eq!(retries.next_wait(late, 0.0), None);
    }
}
