//! The IEC 62056-21 mode E sign-on over a byte stream (optical probe or serial port), before HDLC.
//!
//! These functions cannot change line settings on a generic stream, so the caller does: open the
//! port at 300 baud 7E1, call [`sign_on`] (or [`answer_sign_on`] on the meter side), then set
//! 8N1 at the returned baud rate and start HDLC with SNRM.
use crate::dlms::iec62056_21::{
    Identification, IecClient, IecError, IecEvent, IecServer, IecServerEvent,
};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, timeout_at, Instant};

/// The ACK's time on the wire at 300 baud (6 characters of 10 bits): a write returns before the UART has sent it.
const ACK_AIRTIME: Duration = Duration::from_millis(200);

/// Signs on to the meter and returns the agreed baud rate; `timeout` bounds the wait for the identification.
///
/// Sends `/?[address]!`, skips the probe's echo, answers the identification with `ACK 2 Z 2`
/// (Z: the lower of the meter's and `max_baud`), then waits for the ACK to leave the port plus
/// the meter's reaction time (200 ms, 20 ms if its manufacturer id ends in lower case),
/// discarding what comes meanwhile (the ACK's echo, a switch confirmation). Then the caller
/// switches to 8N1 at the returned baud rate.
pub async fn sign_on<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    address: Option<&str>,
    max_baud: u32,
    timeout: Duration,
) -> Result<u32, IecError> {
    let mut client = IecClient::new(address.map(str::to_owned), max_baud);
    send(stream, &client.start(), "sending the sign-on request").await?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 256];
    loop {
        let read = timeout_at(deadline, stream.read(&mut buf)).await;
        let Ok(read) = read else {
            return Err(client.timeout_error(timeout.as_millis() as u64));
        };
        let n = bytes_read(read, "waiting for the meter's identification")?;
        if let IecEvent::SendAck { bytes, baud } = client.receive(&buf[..n])? {
            send(stream, &bytes, "sending the acknowledgement/option select").await?;
            tracing::debug!(identification = ?client.identification(), baud, "IEC 62056-21 mode E sign-on");
            drain(stream, ACK_AIRTIME + reaction_time(client.identification())).await;
            return Ok(baud);
        }
    }
}

/// Answers a client's sign-on as the meter and returns the baud rate HDLC follows at; `timeout` bounds each wait.
pub async fn answer_sign_on<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    server: &mut IecServer,
    timeout: Duration,
) -> Result<u32, IecError> {
    let mut deadline = Instant::now() + timeout;
    let mut buf = [0u8; 256];
    let mut n = 0;
    loop {
        match server.receive(&buf[..n])? {
            IecServerEvent::Send(bytes) => {
                send(stream, &bytes, "sending the identification").await?;
                deadline = Instant::now() + timeout;
                n = 0; // lines already buffered are handled before reading on
            }
            IecServerEvent::SwitchToBinary { baud } => return Ok(baud),
            IecServerEvent::NeedMore => {
                let read = timeout_at(deadline, stream.read(&mut buf)).await;
                let Ok(read) = read else {
                    return Err(server.timeout_error(timeout.as_millis() as u64));
                };
                n = bytes_read(read, "waiting for the client's sign-on")?;
            }
        }
    }
}

/// The meter's minimum reaction time: 20 ms if its manufacturer id ends in lower case, else 200 ms.
fn reaction_time(identification: Option<&Identification>) -> Duration {
    if identification.is_some_and(Identification::short_reaction_time) {
        Duration::from_millis(20)
    } else {
        Duration::from_millis(200)
    }
}

/// Reads and drops whatever comes for `pause`; a closed or failing stream just waits it out.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S, pause: Duration) {
    let end = Instant::now() + pause;
    let mut buf = [0u8; 64];
    loop {
        match timeout_at(end, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return sleep_until(end).await,
            Err(_) => return,
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    stage: &'static str,
) -> Result<(), IecError> {
    let sent = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    sent.await.map_err(|e| IecError::Io {
        stage,
        message: e.to_string(),
    })
}

fn bytes_read(read: std::io::Result<usize>, stage: &'static str) -> Result<usize, IecError> {
    match read {
        Ok(0) => Err(IecError::Closed(stage)),
        Ok(n) => Ok(n),
        Err(e) => Err(IecError::Io {
            stage,
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{duplex, DuplexStream, ReadBuf};

    /// An optical probe on a half-duplex loop: everything written comes back to the reader first.
    struct EchoProbe {
        inner: DuplexStream,
        echo: Vec<u8>,
    }

    impl AsyncRead for EchoProbe {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.echo.is_empty() {
                return Pin::new(&mut self.inner).poll_read(cx, buf);
            }
            let n = self.echo.len().min(buf.remaining());
            buf.put_slice(&self.echo[..n]);
            self.echo.drain(..n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for EchoProbe {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = &mut *self;
            let written = Pin::new(&mut this.inner).poll_write(cx, buf);
            if let Poll::Ready(Ok(n)) = written {
                this.echo.extend_from_slice(&buf[..n]);
            }
            written
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    const SECOND: Duration = Duration::from_secs(1);
    const SHORT: Duration = Duration::from_millis(50);

    /// Signs on over `client_side`, answers as a made-up meter, then checks HDLC bytes pass cleanly.
    async fn sign_on_and_answer<S: AsyncRead + AsyncWrite + Unpin>(
        client_side: &mut S,
        meter_side: &mut DuplexStream,
    ) {
        let mut server = IecServer::new("XYZ", "SIM-METER", 19200);
        let (agreed, answered) = tokio::join!(
            sign_on(client_side, None, 9600, SECOND),
            answer_sign_on(meter_side, &mut server, SECOND)
        );
        assert_eq!((agreed, answered), (Ok(9600), Ok(9600)));
        // Nothing of the sign-on (echoes included) is left for HDLC.
        meter_side.write_all(&[0x7E, 0xA0]).await.unwrap();
        let mut first = [0u8; 2];
        client_side.read_exact(&mut first).await.unwrap();
        assert_eq!(first, [0x7E, 0xA0]);
    }

    #[tokio::test]
    async fn signs_on_without_echo() {
        let (mut client, mut meter) = duplex(64);
        sign_on_and_answer(&mut client, &mut meter).await;
    }

    #[tokio::test]
    async fn signs_on_through_an_echoing_probe() {
        let (client, mut meter) = duplex(64);
        let mut probe = EchoProbe {
            inner: client,
            echo: Vec::new(),
        };
        sign_on_and_answer(&mut probe, &mut meter).await;
    }

    #[tokio::test]
    async fn silent_meter_times_out_with_where() {
        let (mut client, _meter) = duplex(64);
        let err = sign_on(&mut client, None, 9600, SHORT).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "no identification from the meter after the sign-on request within 50 ms"
        );
        let (client, _meter) = duplex(64);
        let mut probe = EchoProbe {
            inner: client,
            echo: Vec::new(),
        };
        let err = sign_on(&mut probe, None, 9600, SHORT).await.unwrap_err();
        assert!(
            err.to_string().contains("the probe echoed the request"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn truncated_identification_and_closed_port() {
        let (mut client, mut meter) = duplex(64);
        meter.write_all(b"/XYZ5\\2NO-END").await.unwrap();
        let err = sign_on(&mut client, None, 9600, SHORT).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the meter's identification \"/XYZ5\\2NO-END\" did not end with CR LF within 50 ms"
        );
        meter.shutdown().await.unwrap();
        let err = sign_on(&mut client, None, 9600, SHORT).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the port closed while waiting for the meter's identification"
        );
        drop(meter);
        let err = sign_on(&mut client, None, 9600, SHORT).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the sign-on stopped while sending the sign-on request: broken pipe"
        );
    }

    #[tokio::test]
    async fn meter_side_times_out_with_where() {
        let (mut client, mut meter) = duplex(64);
        let mut server = IecServer::new("XYZ", "SIM", 9600);
        let err = answer_sign_on(&mut meter, &mut server, SHORT)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no sign-on request from the client within 50 ms"
        );
        client.write_all(b"/?!\r\n").await.unwrap();
        let err = answer_sign_on(&mut meter, &mut server, SHORT)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no acknowledgement/option select from the client after the identification within 50 ms"
        );
    }
}
