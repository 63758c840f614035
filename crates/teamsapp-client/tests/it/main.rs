//! Integration tests of the client against wiremock, one `MockServer` per test.

mod auth;
mod batch;
mod errors;
mod gate;
mod operations;
mod paging;
mod retry;
mod support;
