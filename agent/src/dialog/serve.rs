//! The dialog's async side: turns consent requests and session news into commands for the
//! dialog thread, and what the user does into answers and the stop signal.

use std::{sync::mpsc::Sender, sync::Arc, time::Duration};

use tether_proto::session::Capabilities;
use tokio::{
    sync::{mpsc, Notify},
    time::Instant,
};

use super::{
    ui::{Action, Command, Input},
    LiveState,
};
use crate::ConsentRequest;

/// How long a request waits for an answer before it is declined: nobody may be at the
/// machine, and the technician should not wait forever.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves requests and session news until the dialog thread is gone. Fails safe: without the
/// dialog thread, a pending request is declined and a live session is ended, since the user
/// could no longer see it.
pub(crate) async fn serve(
    mut requests: mpsc::Receiver<ConsentRequest>,
    mut live: mpsc::UnboundedReceiver<LiveState>,
    dialog: Sender<Input>,
    mut actions: mpsc::UnboundedReceiver<Action>,
    stop: Arc<Notify>,
) {
    // A failed send means the dialog thread is gone; `actions` then ends, and that is handled.
    let show = |command| {
        let _ = dialog.send(Input::Command(command));
    };
    let mut asked = 0;
    let mut pending: Option<(u64, ConsentRequest)> = None;
    let mut deadline = Instant::now();
    let mut session_live = false;
    loop {
        tokio::select! {
            Some(request) = requests.recv(), if pending.is_none() => {
                asked += 1;
                show(Command::Ask {
                    id: asked,
                    technician: request.technician.clone(),
                    wants: request.wants,
                    sas: request.sas.to_string(),
                });
                deadline = Instant::now() + ANSWER_TIMEOUT;
                pending = Some((asked, request));
            }
            () = tokio::time::sleep_until(deadline), if pending.is_some() => {
                if let Some((id, request)) = pending.take() {
                    tracing::info!("nobody answered the consent dialog in time: declined");
                    request.answer(Capabilities::default());
                    show(Command::Dismiss { id });
                }
            }
            Some(state) = live.recv() => match state {
                LiveState::Started { technician, granted } => {
                    session_live = true;
                    show(Command::ShowLive { technician, granted });
                }
                LiveState::Ended => {
                    session_live = false;
                    show(Command::HideLive);
                }
            },
            action = actions.recv() => match action {
                Some(Action::Chose { id, button }) => {
                    // A late answer to a request that timed out must not answer the next one.
                    if let Some((_, request)) = pending.take_if(|(asked, _)| *asked == id) {
                        let granted = button.grant(request.wants);
                        request.answer(granted);
                    }
                }
                Some(Action::EndSession) => stop.notify_one(),
                None => {
                    if session_live {
                        tracing::warn!("the consent dialog is gone: ending the session it showed");
                        stop.notify_one();
                    }
                    return;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;
    use tether_e2e::{AgentHandshake, ShortAuthString, ViewerHandshake};
    use tether_proto::{Nameplate, SessionCode};

    use super::*;
    use crate::{dialog::buttons::Button, ConsentPolicy};

    /// Real security digits, from a handshake run in memory.
    fn digits() -> ShortAuthString {
        let code = SessionCode::generate(Nameplate::generate(&mut OsRng), &mut OsRng);
        let (viewer, start) = ViewerHandshake::start(code, 1, &mut OsRng);
        let (agent, reply) = AgentHandshake::respond(code, 1, start, &mut OsRng).unwrap();
        let (_, confirm) = viewer.on_reply(reply).unwrap();
        agent.on_confirm(confirm).unwrap().0.sas
    }

    /// The async side with the dialog thread played by the test.
    struct Harness {
        policy: ConsentPolicy,
        live: mpsc::UnboundedSender<LiveState>,
        commands: std::sync::mpsc::Receiver<Input>,
        actions: mpsc::UnboundedSender<Action>,
        stop: Arc<Notify>,
    }

    fn start() -> Harness {
        let (requests_tx, requests) = mpsc::channel(1);
        let (live, live_rx) = mpsc::unbounded_channel();
        let (dialog, commands) = std::sync::mpsc::channel();
        let (actions, actions_rx) = mpsc::unbounded_channel();
        let stop = Arc::new(Notify::new());
        tokio::spawn(serve(requests, live_rx, dialog, actions_rx, stop.clone()));
        Harness {
            policy: ConsentPolicy::Ask(requests_tx),
            live,
            commands,
            actions,
            stop,
        }
    }

    impl Harness {
        /// The next command sent to the dialog thread.
        async fn command(&self) -> Command {
            loop {
                match self.commands.try_recv() {
                    Ok(Input::Command(command)) => return command,
                    Ok(Input::Event(_)) => unreachable!("only commands are sent"),
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        }

        /// Asks for `wants` and returns the decision's task and the request's id.
        async fn ask(&self, wants: Capabilities) -> (tokio::task::JoinHandle<Capabilities>, u64) {
            let policy = self.policy.clone();
            let sas = digits();
            let decision = tokio::spawn(async move { policy.decide("Alice", wants, sas).await });
            match self.command().await {
                Command::Ask {
                    id,
                    technician,
                    wants: asked,
                    sas: shown,
                } => {
                    assert_eq!((technician.as_str(), asked), ("Alice", wants));
                    assert_eq!(shown, sas.to_string());
                    (decision, id)
                }
                other => panic!("expected a question, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_button_pressed_answers_and_a_late_answer_is_ignored() {
        let harness = start();
        let (decision, first) = harness.ask(Capabilities::VIEW_AND_CONTROL).await;
        let choose = |id, button| harness.actions.send(Action::Chose { id, button }).unwrap();
        choose(first, Button::ViewOnly);
        assert_eq!(decision.await.unwrap(), Capabilities::VIEW_ONLY);

        let (decision, second) = harness.ask(Capabilities::VIEW_AND_CONTROL).await;
        choose(first, Button::Allow);
        choose(second, Button::Deny);
        assert_eq!(decision.await.unwrap(), Capabilities::default());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_request_is_declined_after_a_minute() {
        let harness = start();
        let (decision, id) = harness.ask(Capabilities::VIEW_AND_CONTROL).await;
        tokio::time::sleep(ANSWER_TIMEOUT - Duration::from_secs(1)).await;
        assert!(!decision.is_finished());
        assert_eq!(decision.await.unwrap(), Capabilities::default());
        assert!(
            matches!(harness.command().await, Command::Dismiss { id: dismissed } if dismissed == id)
        );
    }

    #[tokio::test]
    async fn the_indicator_follows_the_session_and_ends_it_on_request() {
        let harness = start();
        let granted = Capabilities::VIEW_AND_CONTROL;
        harness
            .live
            .send(LiveState::Started {
                technician: "Alice".into(),
                granted,
            })
            .unwrap();
        assert!(matches!(
            harness.command().await,
            Command::ShowLive { technician, granted: shown } if technician == "Alice" && shown == granted
        ));
        harness.actions.send(Action::EndSession).unwrap();
        harness.stop.notified().await;
        harness.live.send(LiveState::Ended).unwrap();
        assert!(matches!(harness.command().await, Command::HideLive));
    }

    #[tokio::test]
    async fn without_the_dialog_thread_requests_are_declined_and_live_sessions_end() {
        let harness = start();
        let granted = Capabilities::VIEW_ONLY;
        let technician = "Alice".to_owned();
        harness
            .live
            .send(LiveState::Started {
                technician,
                granted,
            })
            .unwrap();
        assert!(matches!(harness.command().await, Command::ShowLive { .. }));
        drop(harness.actions);
        harness.stop.notified().await;
        let declined = harness
            .policy
            .decide("Mallory", Capabilities::VIEW_AND_CONTROL, digits())
            .await;
        assert_eq!(declined, Capabilities::default());
    }
}
