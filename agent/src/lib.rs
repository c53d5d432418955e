//! The Tether agent: registers with a relay, shows the user a one-time session code, and
//! streams its screen to the viewer that joins with it.
//!
//! In unattended mode ([`machine`]) it is instead an enrolled server that stays online for the
//! organisation's technicians to open shells on.
//!
//! [`run`] is the whole attended agent as a library function (the `tether-agent` binary and the
//! in-process `tether-demo` both call it); it reports progress as [`AgentEvent`]s.

mod consent;
mod control;
pub mod dialog;
mod events;
mod input;
mod lifecycle;
pub mod machine;
mod pacer;
mod pipeline;
mod resume;
mod screen;
mod session;
mod shell_end;
mod shell_session;
mod stream;
pub mod terminal;

pub use consent::{ConsentPolicy, ConsentRequest};
pub use events::AgentEvent;
pub use pacer::{FramePacer, UnexpectedAck};
pub use pipeline::{Encoded, Pipeline, Step};
pub use screen::{open_screen, DemoSettings, InputTarget, OpenedScreen, ScreenChoice};
pub use session::{run, AgentConfig, MAX_SPENT_CODES};
