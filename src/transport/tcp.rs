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
        ms: u64,
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
            ms: timeout.as_millis() as u64,
        }),
    }
}

/// Reads what the socket holds now, straight from the OS (`WouldBlock` when nothing); see
/// [`super::Stream::read_now`]. Bytes read here never pass through tokio, which at worst
/// still believes the socket readable and finds it empty at its next read.
pub fn read_now(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    // tokio's sockets are non-blocking, so this returns at once.
    (&*socket2::SockRef::from(stream)).read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn read_now_takes_what_arrived_and_never_waits() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = connect("127.0.0.1", port, Duration::from_secs(5))
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let e = read_now(&client, &mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        server.write_all(b"abc").await.unwrap();
        let mut n = 0;
        for _ in 0..1000 {
            match read_now(&client, &mut buf) {
                Ok(got) => {
                    n = got;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&buf[..n], b"abc");
        // Through the trait, boxed as a session holds it.
        let mut boxed: super::super::BoxStream = Box::new(client);
        let e = boxed.read_now(&mut buf).unwrap().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        drop(server);
        for _ in 0..1000 {
            match boxed.read_now(&mut buf).unwrap() {
                Ok(0) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                other => panic!("expected the end of the stream, got {other:?}"),
            }
        }
        panic!("the closed connection never read as ended");
    }

    #[test]
    fn streams_that_are_not_tcp_cannot_read_now() {
        let (a, _b) = tokio::io::duplex(64);
        let mut boxed: super::super::BoxStream = Box::new(a);
        assert!(boxed.read_now(&mut [0u8; 4]).is_none());
    }
}
