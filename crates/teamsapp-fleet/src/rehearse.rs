//! Rehearsal (in progress).
