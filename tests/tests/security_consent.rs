//! The terminal consent prompt on a real pseudo-terminal: a "y" typed before the prompt
//! appears (type-ahead, meant for something else) must not admit the technician; only an answer
//! typed after the prompt counts.

use std::{
    io::{Read, Write},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use tether_tests::{agent_args, binary, Relay, TIMEOUT};

/// How long an answer typed ahead is given to be (wrongly) taken.
const SETTLE: Duration = Duration::from_millis(1500);

/// What the agent has shown on its terminal so far.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<String>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    /// Waits until the terminal shows `needle` (after `from` bytes); returns where it ends.
    fn wait_for(&self, needle: &str, from: usize) -> usize {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.text();
            if let Some(at) = text.get(from..).and_then(|rest| rest.find(needle)) {
                return from + at + needle.len();
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on the agent's terminal; it shows:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_yes_typed_before_the_consent_prompt_does_not_admit_anyone() {
    let relay = Relay::start(&[]);
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut agent_command = CommandBuilder::new(binary("tether-agent"));
    agent_command.args(agent_args(
        &relay.addr,
        &relay.fingerprint,
        1,
        "64x64",
        &["--consent", "terminal"],
    ));
    agent_command.env("TETHER_KNOWN_RELAYS", relay.path("agent_known_relays"));
    agent_command.env("RUST_LOG", "info");
    let mut agent = pair
        .slave
        .spawn_command(agent_command)
        .expect("start the agent");
    drop(pair.slave);
    let mut output = pair.master.try_clone_reader().expect("reader");
    let mut keyboard = pair.master.take_writer().expect("writer");
    let screen = Screen::default();
    let shown = screen.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = output.read(&mut buf) {
            if n == 0 {
                break;
            }
            shown
                .0
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });

    let after_code = screen.wait_for("session code: ", 0);
    let code: String = screen.text()[after_code..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    // The user types "y" and Enter before anyone asks anything.
    keyboard.write_all(b"y\r").expect("type");
    keyboard.flush().expect("type");
    thread::sleep(SETTLE);

    let mut viewer = relay.viewer(&code, &["--frames", "1"]);
    let prompt = screen.wait_for("Allow? [y] yes", after_code);
    thread::sleep(SETTLE);
    let shown = screen.text();
    assert!(
        !shown.contains("SESSION LIVE") && !shown.contains("session started"),
        "the typed-ahead yes admitted the technician:\n{shown}"
    );
    // An answer typed now is taken.
    keyboard.write_all(b"n\r").expect("type");
    keyboard.flush().expect("type");
    viewer.expect_exit(3, "declined");
    screen.wait_for("session declined", prompt);
    let _ = agent.kill();
}
