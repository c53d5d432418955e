//! The relay binary end to end, started as operators start it: scripted clients speaking its
//! control protocol (and real agents and viewers) drive it, and what it tells them, its audit
//! log, its metrics endpoint and its exit are checked.

mod audit;
mod exhaustion;
mod metrics;
mod misbehaving_clients;
mod scrape;
mod shutdown;
mod startup;
