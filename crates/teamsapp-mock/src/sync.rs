//! Locking, shared by every module that holds a `std::sync::Mutex` (a leaf: it imports nothing of
//! the crate, so any module can use it without a cycle).

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering the data if a holder panicked (no lock here guards an invariant a
/// panic could break halfway).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
