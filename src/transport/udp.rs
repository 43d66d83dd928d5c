//! DLMS over UDP (IEC 62056-47: the WRAPPER over UDP, as GPRS and NB-IoT meters speak): one
//! WRAPPER PDU per datagram, in both directions. A datagram lost on the way is simply never
//! read, so the waiting side times out, as it would for a meter that did not answer.
//!
//! Both ends are byte streams to the layers above, with the datagram boundaries kept: every
//! write is sent as one datagram (the session writes one PDU per call), and a read returns the
//! bytes of one datagram only (what does not fit the caller's buffer is served by the next
//! read, before any later datagram).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The largest datagram read: a UDP payload cannot be longer.
pub const MAX_DATAGRAM: usize = 65_535;

/// Why a UDP link could not be set up.
#[derive(Debug, Error)]
pub enum UdpError {
    /// The host name did not resolve.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        /// The host as given.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No local socket could be bound, or the meter's address set.
    #[error("cannot open a UDP socket to {addr}: {source}")]
    Socket {
        /// host:port.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// Resolving took longer than the timeout.
    #[error("cannot reach {addr}: the host name did not resolve within {ms} ms")]
    Timeout {
        /// host:port.
        addr: String,
        /// The timeout.
        ms: u64,
    },
}

/// Opens a UDP "connection" to `host:port`: a socket bound to an ephemeral local port and
/// connected to the meter, so only its datagrams are read. Nothing is sent yet, so this
/// succeeds whether or not a meter is there; the first request finds out.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<UdpLink, UdpError> {
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host(addr.clone())).await;
    let resolved = match lookup {
        Err(_) => {
            return Err(UdpError::Timeout {
                addr,
                ms: timeout.as_millis() as u64,
            })
        }
        Ok(r) => r.map_err(|source| UdpError::Resolve {
            host: host.to_string(),
            source,
        })?,
    };
    let mut last = None;
    for peer in resolved {
        let local: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let attempt = async {
            let socket = UdpSocket::bind(local).await?;
            socket.connect(peer).await?;
            Ok::<_, io::Error>(socket)
        };
        match attempt.await {
            Ok(socket) => return Ok(UdpLink::new(socket)),
            Err(e) => last = Some(e),
        }
    }
    Err(UdpError::Socket {
        addr,
        source: last.unwrap_or_else(|| io::Error::other("no address found")),
    })
}

/// The unread rest of the last datagram received.
#[derive(Debug, Default)]
struct Leftover {
    bytes: Vec<u8>,
    at: usize,
}

impl Leftover {
    /// Copies what fits into `buf`; true when something was copied.
    fn serve(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        if self.at >= self.bytes.len() {
            return false;
        }
        let n = buf.remaining().min(self.bytes.len() - self.at);
        buf.put_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        true
    }

    /// Keeps `datagram` and serves its first bytes.
    fn keep(&mut self, datagram: Vec<u8>, buf: &mut ReadBuf<'_>) {
        self.bytes = datagram;
        self.at = 0;
        self.serve(buf);
    }
}

/// The client end: a connected UDP socket as a byte stream of datagrams.
#[derive(Debug)]
pub struct UdpLink {
    socket: UdpSocket,
    rest: Leftover,
}

impl UdpLink {
    /// Wraps a socket already connected to the meter.
    pub fn new(socket: UdpSocket) -> Self {
        UdpLink {
            socket,
            rest: Leftover::default(),
        }
    }

    /// The meter's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }
}

impl AsyncRead for UdpLink {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.rest.serve(buf) {
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(this.socket.poll_recv_ready(cx))?;
            // The datagram buffer exists only while a datagram is there to read: a fleet
            // keeps one idle link per meter.
            let mut whole = vec![0u8; MAX_DATAGRAM];
            match this.socket.try_recv(&mut whole) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
                // An empty datagram carries nothing (and a read of 0 bytes would mean "closed").
                Ok(0) => continue,
                Ok(n) => {
                    this.rest.keep(whole[..n].to_vec(), buf);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl AsyncWrite for UdpLink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().socket.poll_send(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The server end for one client of a shared socket (the simulator serving UDP): datagrams
/// from that client arrive through a channel the socket's reader fills, and every write goes
/// back to it as one datagram. The stream ends (a read of 0 bytes) when the reader drops the
/// channel.
#[derive(Debug)]
pub struct UdpPeer {
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    datagrams: mpsc::Receiver<Vec<u8>>,
    rest: Leftover,
}

impl UdpPeer {
    /// The stream of `peer`'s datagrams, answered through `socket`.
    pub fn new(
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
        datagrams: mpsc::Receiver<Vec<u8>>,
    ) -> Self {
        UdpPeer {
            socket,
            peer,
            datagrams,
            rest: Leftover::default(),
        }
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
}

impl AsyncRead for UdpPeer {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.rest.serve(buf) {
            return Poll::Ready(Ok(()));
        }
        loop {
            match ready!(this.datagrams.poll_recv(cx)) {
                // The reader is gone: the end of the stream.
                None => return Poll::Ready(Ok(())),
                Some(d) if d.is_empty() => continue,
                Some(d) => {
                    this.rest.keep(d, buf);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl AsyncWrite for UdpPeer {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.socket.poll_send_to(cx, buf, this.peer)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn each_write_is_one_datagram_and_reads_never_join_two() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let mut link = connect("127.0.0.1", addr.port(), Duration::from_secs(1))
            .await
            .unwrap();
        link.write_all(b"first").await.unwrap();
        link.write_all(b"second").await.unwrap();
        let mut d = [0u8; 64];
        let (n, from) = server.recv_from(&mut d).await.unwrap();
        assert_eq!(&d[..n], b"first");
        let (n, _) = server.recv_from(&mut d).await.unwrap();
        assert_eq!(&d[..n], b"second");
        server.send_to(b"abcdef", from).await.unwrap();
        server.send_to(b"", from).await.unwrap();
        server.send_to(b"xyz", from).await.unwrap();
        // A small buffer takes a datagram in parts; the next datagram is not joined to it.
        let mut small = [0u8; 4];
        let n = link.read(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"abcd");
        let mut big = [0u8; 64];
        let n = link.read(&mut big).await.unwrap();
        assert_eq!(&big[..n], b"ef");
        let n = link.read(&mut big).await.unwrap();
        assert_eq!(
            &big[..n],
            b"xyz",
            "the empty datagram is skipped, not an end"
        );
    }

    #[tokio::test]
    async fn a_peer_stream_answers_its_client_and_ends_with_its_channel() {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = mpsc::channel(4);
        let mut peer = UdpPeer::new(socket.clone(), client.local_addr().unwrap(), rx);
        tx.send(b"request".to_vec()).await.unwrap();
        let mut buf = [0u8; 32];
        let n = peer.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"request");
        peer.write_all(b"answer").await.unwrap();
        let (n, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"answer"[..], socket.local_addr().unwrap())
        );
        drop(tx);
        assert_eq!(peer.read(&mut buf).await.unwrap(), 0);
    }
}
