//! `probe` against the in-process simulator: HDLC with a 2-byte address, WRAPPER, SN, a
//! refused association, a dead port and an echoing line; the snippet loads as config.

use dlms_logger::dlms::client::{Authentication, Referencing};
use dlms_logger::engine::probe::{candidates, meter_snippet, probe, Candidate, ProbeResult};
use dlms_logger::engine::{EngineError, Interface};
use dlms_logger::queue::{Config, InterfaceKind, Meter, ReferencingKind};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::transport::BoxStream;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const TRY: Duration = Duration::from_millis(150);

/// A fresh stream for one try.
type Opening = Pin<Box<dyn Future<Output = Result<BoxStream, EngineError>> + Send>>;

/// A TCP connection to the simulator.
async fn tcp(addr: SocketAddr) -> Result<BoxStream, EngineError> {
    let s = tokio::net::TcpStream::connect(addr).await?;
    Ok(Box::new(s))
}

/// Starts a simulated meter on a free port.
async fn sim(config: SimConfig) -> SocketAddr {
    let (addrs, _task) = sim::start(SimConfig { port: 0, ..config }).await.unwrap();
    addrs[0]
}

/// Probes with the candidates; returns the result and the progress lines.
async fn run(
    connect: impl FnMut() -> Opening,
    list: &[Candidate],
) -> (Result<ProbeResult, String>, Vec<String>) {
    let mut lines = Vec::new();
    let r = probe(connect, list, TRY, |n, total, c, outcome| {
        lines.push(format!("[{n}/{total}] {c} … {outcome}"))
    })
    .await;
    eprintln!("{}", lines.join("\n"));
    (r.map_err(|e| e.to_string()), lines)
}

fn over_tcp(addr: SocketAddr) -> impl FnMut() -> Opening {
    move || Box::pin(tcp(addr))
}

/// The meter of the snippet, loaded with a connection by the config loader.
fn loaded(r: &ProbeResult) -> Meter {
    let text = format!(
        "[[connection]]\nname = \"line\"\ntcp = {{ host = \"127.0.0.1\", port = 4059 }}\n\n{}",
        meter_snippet(r, "m1", "line")
    );
    let config = Config::parse(&text, "snippet").unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.meters[0].clone()
}

#[test]
fn candidates_are_ordered_unique_and_encodable() {
    let all = candidates(Some(12345678), None);
    assert!(all.len() < 80, "{} tries", all.len());
    let first = |c: &Candidate| (c.interface, c.client, c.address_size, c.referencing);
    assert_eq!(first(&all[0]), (Interface::Wrapper, 16, 1, Referencing::Ln));
    assert_eq!(first(&all[1]), (Interface::Hdlc, 16, 1, Referencing::Ln));
    for (i, c) in all.iter().enumerate() {
        assert!(!all[..i].contains(c), "{c} twice");
    }
    let hdlc = |size: u8, physical: u16| {
        all.iter().any(|c| {
            c.interface == Interface::Hdlc && c.address_size == size && c.physical == physical
        })
    };
    assert!(hdlc(2, 17) && hdlc(4, 256) && hdlc(4, 6678));
    assert!(!hdlc(2, 256), "256 does not fit a 2-byte address");
    assert!(all
        .iter()
        .any(|c| c.serial_number == Some(12345678) && c.physical == 6678));
    for client in [16, 32, 1, 17, 18] {
        assert!(all.iter().any(|c| c.client == client), "client {client}");
    }
    assert_eq!(candidates(None, Some(Interface::Wrapper)).len(), 5);
    assert!(candidates(None, Some(Interface::Hdlc))
        .iter()
        .all(|c| c.interface == Interface::Hdlc));
}

#[tokio::test]
async fn finds_hdlc_meter_at_server_17_with_2_byte_addresses() {
    let addr = sim(SimConfig {
        interface: Interface::Hdlc,
        physical: Some(17),
        address_size: Some(2),
        ..SimConfig::default()
    })
    .await;
    let (r, lines) = run(over_tcp(addr), &candidates(None, None)).await;
    let r = r.unwrap();
    assert!(r.associated, "{}", r.note);
    assert_eq!(
        (
            r.candidate.interface,
            r.candidate.client,
            r.candidate.physical
        ),
        (Interface::Hdlc, 16, 17)
    );
    assert_eq!(r.candidate.address_size, 2);
    assert_eq!(r.serial_number.as_deref(), Some("12345678"));
    assert!(r.device_name.is_some());
    assert!(lines[0].contains("no answer"), "{lines:?}");
    let m = loaded(&r);
    assert_eq!(m.interface, InterfaceKind::Hdlc);
    assert_eq!(
        (m.client, m.physical, m.logical, m.address_size),
        (16, 17, 1, 2)
    );
    assert_eq!(m.referencing, ReferencingKind::Ln);
}

#[tokio::test]
async fn finds_wrapper_meter_on_the_first_try() {
    let addr = sim(SimConfig::default()).await;
    let (r, lines) = run(over_tcp(addr), &candidates(None, None)).await;
    let r = r.unwrap();
    assert!(r.associated);
    assert_eq!(lines.len(), 1);
    assert_eq!(r.candidate, candidates(None, None)[0]);
    let m = loaded(&r);
    assert_eq!(
        (m.interface, m.client, m.logical),
        (InterfaceKind::Wrapper, 16, 1)
    );
}

#[tokio::test]
async fn sn_meter_is_found_with_short_names() {
    let addr = sim(SimConfig {
        referencing: Referencing::Sn,
        ..SimConfig::default()
    })
    .await;
    let (r, lines) = run(over_tcp(addr), &candidates(None, None)).await;
    let r = r.unwrap();
    assert!(r.associated, "{}", r.note);
    assert_eq!(r.candidate.referencing, Referencing::Sn);
    assert!(lines[0].contains("refused"), "{lines:?}");
    assert_eq!(r.serial_number.as_deref(), Some("12345678"));
    assert_eq!(loaded(&r).referencing, ReferencingKind::Sn);
}

#[tokio::test]
async fn refused_association_still_finds_the_address() {
    let addr = sim(SimConfig {
        interface: Interface::Hdlc,
        physical: Some(16),
        address_size: Some(4),
        authentication: Authentication::Low(b"secret".to_vec()),
        ..SimConfig::default()
    })
    .await;
    let only_32: Vec<Candidate> = candidates(None, Some(Interface::Hdlc))
        .into_iter()
        .filter(|c| c.client == 32)
        .collect();
    let r = run(over_tcp(addr), &only_32).await.0.unwrap();
    assert!(!r.associated);
    assert!(
        r.note.contains("refuses client 32 without authentication")
            && r.note.contains("--auth/--password"),
        "{}",
        r.note
    );
    let m = loaded(&r);
    assert_eq!((m.client, m.physical, m.address_size), (32, 16, 4));
    assert!(meter_snippet(&r, "m", "c").contains("# auth = "));
}

#[tokio::test]
async fn nothing_answering_says_so() {
    // A port that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let list = candidates(None, Some(Interface::Wrapper));
    let e = run(over_tcp(addr), &list).await.0.unwrap_err();
    assert_eq!(e, "no meter answered any of 5 address combinations");

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (r, lines) = run(over_tcp(closed), &list).await;
    assert!(r.unwrap_err().starts_with("cannot open the connection"));
    assert!(lines.is_empty());
}

/// The client end of a line that echoes every byte written (an optical probe).
struct Echoing<S> {
    inner: S,
    echo: Vec<u8>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Echoing<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.echo.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = this.echo.len().min(buf.remaining());
        buf.put_slice(&this.echo[..n]);
        this.echo.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Echoing<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, data))?;
        this.echo.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn echoing_line_is_detected_and_cancelled() {
    let config = SimConfig {
        interface: Interface::Hdlc,
        ..SimConfig::default()
    };
    let connect = move || {
        let config = config.clone();
        Box::pin(async move {
            let (client, meter) = tokio::io::duplex(4096);
            tokio::spawn(async move { sim::serve_stream(meter, &config, 0).await });
            Ok(Box::new(Echoing {
                inner: client,
                echo: Vec::new(),
            }) as BoxStream)
        }) as Opening
    };
    let (r, lines) = run(connect, &candidates(None, Some(Interface::Hdlc))).await;
    let r = r.unwrap();
    assert!(r.associated, "{}", r.note);
    assert!(r.note.contains("echo cancelled"), "{}", r.note);
    assert!(lines[0].contains("echo"), "{lines:?}");
    assert_eq!(r.serial_number.as_deref(), Some("12345678"));
    assert_eq!(r.candidate, candidates(None, Some(Interface::Hdlc))[0]);
}

#[tokio::test]
async fn link_without_association_is_reported() {
    use dlms_logger::dlms::hdlc::{HdlcParameters, HdlcServer, ServerAddressFilter};
    use dlms_logger::dlms::link::LinkEvent;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A meter that opens the HDLC link (UA) but never answers an association request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut link =
                    HdlcServer::new(ServerAddressFilter::logical(1), HdlcParameters::default());
                let mut buf = [0u8; 2048];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    for ev in link.receive(&buf[..n]).unwrap_or_default() {
                        if let LinkEvent::Transmit(out) = ev {
                            let _ = s.write_all(&out).await;
                        }
                    }
                }
            });
        }
    });
    let list = candidates(None, Some(Interface::Hdlc));
    let (r, lines) = run(over_tcp(addr), &list).await;
    let r = r.unwrap();
    assert!(!r.associated);
    assert_eq!(r.candidate, list[0]);
    assert!(r.note.contains("answers the HDLC link"), "{}", r.note);
    // Only the other clients are tried at the address that answered.
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("size 1")), "{lines:?}");
}
