//! End-to-end harness for `teamsapp`: starts the emulator, points the client and the CLI at it.
//!
//! **Status: skeleton.** This crate exists only for stand-alone end-to-end tests that act as
//! consumers of the other crates; the harness arrives with the end-to-end issue.
