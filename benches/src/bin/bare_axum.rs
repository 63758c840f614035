//! `bench-bare-axum [ADDR]`: the bare axum server of the throughput baseline as a program of its
//! own (default `127.0.0.1:0`). It prints its address, then answers `204` on the upgrade route
//! until killed. `cargo xtask bench` compares the `teamsapp` binary's size with this one's.

use std::io::Write as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    axum::serve(listener, teamsapp_bench::bare_router()).await?;
    Ok(())
}
