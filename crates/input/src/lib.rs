//! Remote input for Tether: what the technician's mouse and keyboard do, as sent from the
//! viewer to the agent, and how the agent replays it on its X display.
//!
//! - [`InputEvent`]: the wire model (pointer, buttons, wheel, physical [`Key`]s, text), and
//!   [`InputEvent::validate`], which every event from the network goes through.
//! - [`HeldInput`]: which keys and buttons are down, to release them all at a session's end.
//! - [`Injector`], and `EnigoInjector` (feature `inject`): replaying events on an X display
//!   through XTEST.
//! - `from_winit` (feature `winit`): the viewer's side, from winit events to [`InputEvent`]s.

#[cfg(feature = "inject")]
mod enigo_injector;
mod event;
#[cfg(feature = "winit")]
pub mod from_winit;
mod held;
mod injector;
mod key;
#[cfg(test)]
mod strategies;

#[cfg(feature = "inject")]
pub use enigo_injector::EnigoInjector;
pub use event::{
    InputEvent, InvalidInput, MouseButton, Press, ScreenSize, ValidEvent, MAX_TEXT_BYTES,
    MAX_WHEEL_NOTCHES,
};
pub use held::HeldInput;
pub use injector::{InjectError, Injector};
pub use key::Key;
