//! The relay's one way to take a lock, and its one policy for a poisoned lock: take the value
//! anyway.
//!
//! A lock is poisoned when a thread panicked while holding it. Taking the value regardless is
//! sound here, and better than the alternatives:
//! - Every critical section is short and synchronous (none awaits): one call into a sans-IO
//!   structure (the code registry, the join limiter, the resume book, the connection counter,
//!   the data port's table, the organisation's loaded trust), one lookup, insert or remove in
//!   a map of connections, or one directory call (SQLite, whose writes are transactions and
//!   roll back). These validate what clients send before they change anything, so only a
//!   relay bug can panic inside one.
//! - Such a panic leaves at worst a stale entry or a count off by one, and each structure
//!   bounds how long that lasts: codes and tickets expire, limiter buckets refill, a slot or a
//!   connection's entry goes with its connection.
//! - Failing every later caller instead would turn that one bug into a relay that refuses all
//!   connections; panicking in turn would spread it to every connection task. The panic itself
//!   already ended the task that hit it, and was reported there.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// `mutex`, locked, whether or not an earlier holder panicked (see the module's policy).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
