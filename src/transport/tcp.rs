//! TCP client connections with a connect timeout and readable errors.

use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpStream;

/// Why a TCP connection could not be made.
#[derive(Debug, Error)]
pub enum TcpError {
    /// The host name did not resolve.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        /// The host as given.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The connection was refused or failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// host:port.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No answer within the timeout.
    #[error("cannot connect to {addr}: no answer within {ms} ms")]
    Timeout {
        /// host:port.
        addr: String,
        /// The timeout.
        ms: u128,
    },
}

/// Connects to `host:port` within `timeout`, with Nagle off (requests are small and latency-bound).
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, TcpError> {
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let attempt = async {
        let addrs: Vec<_> = tokio::net::lookup_host(&addr)
            .await
            .map_err(|source| TcpError::Resolve {
                host: host.to_string(),
                source,
            })?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect(a).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(TcpError::Connect {
            addr: addr.clone(),
            source: last.unwrap_or_else(|| std::io::Error::other("no address found")),
        })
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(TcpError::Timeout {
            addr: addr.clone(),
            ms: timeout.as_millis(),
        }),
    }
}
