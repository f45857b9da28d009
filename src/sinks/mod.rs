//! Where results go: the terminal (timer print and final tables), HTTP, the
//! dashboard, the PostgreSQL wire protocol, and MongoDB (exactly once, in Kafka
//! mode).

pub mod dashboard;
pub mod http;
pub mod pg;
pub mod print;
pub mod results;

/// Binds a listener for the command-line option `option` (e.g. `--http`);
/// returns it with the bound address (port 0 picks a free one).
pub async fn listen(
    addr: &str,
    option: &str,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {option}: {e}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}
