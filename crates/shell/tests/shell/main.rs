//! Real programs on real pipes and pseudo-terminals, served by `serve_shell` and driven over
//! in-memory bounded channels.

mod command;
mod lifecycle;
mod support;
mod terminal;
