//! Integration tests of the model: one binary, one module per area.

#![allow(
    unused_must_use,
    reason = "tests drop the events of the operations they do not replay"
)]

mod acceptance;
mod beta;
mod catalog;
mod common;
mod directory;
mod events;
mod installations;
mod properties;
