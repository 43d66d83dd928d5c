//! A simulated meter on a serial line: sessions one after another on the same port, the port
//! reopened with a backoff when the other end goes away, an optional mode E sign-on.

use super::{serve_connection, Ended, MeterLife, SimConfig};
use std::time::Duration;

/// Serves one simulated meter on a serial line for as long as the task runs: after the
/// inactivity timeout it goes on listening on the same port; when the other end goes away
/// (adapter unplugged, pty closed) it says so once, then reopens the device with a backoff
/// (250 ms doubling to 5 s), repeating the message at most once a minute. With `iec`, every
/// session starts with an IEC 62056-21 mode E sign-on at 300 baud, as on an optical port.
pub async fn serve_serial(
    port: tokio_serial::SerialStream,
    line: &crate::queue::SerialSettings,
    config: &SimConfig,
    iec: bool,
) {
    use crate::transport::retry::{Backoff, LogLimiter};
    use crate::transport::serial;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    let mut log = LogLimiter::new(Duration::from_secs(60));
    let mut port = Some(port);
    let mut failing = false;
    // The meter's counters outlive each session on the line.
    let life = MeterLife::default();
    let dev = crate::text::escape(&line.port).into_owned();
    loop {
        let mut p = match port.take() {
            Some(p) => p,
            None => match serial::open(line) {
                Ok(p) => {
                    // Said at the level of the failure it ends.
                    tracing::warn!("serial port {dev} is open again; serving");
                    p
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    if let Some(l) = log.note(&format!("{e}; trying again")) {
                        tracing::warn!("{l}");
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            },
        };
        let outcome = if iec {
            let mut sign_on = crate::dlms::iec62056_21::IecServer::new("DLG", "DLGSIM", line.baud);
            match serial::answer_mode_e(&mut p, line, &mut sign_on, Duration::from_secs(3600)).await
            {
                Ok(baud) => {
                    tracing::info!("mode E sign-on: HDLC at {baud} baud");
                    serve_serial_session(&mut p, config, &life).await
                }
                Err(e) => Err(e.into()),
            }
        } else {
            serve_serial_session(&mut p, config, &life).await
        };
        match outcome {
            Ok(()) => {
                if failing {
                    log.clear();
                    failing = false;
                }
                backoff.reset();
                port = Some(p);
            }
            Err(why) => {
                // Dropped: the device is opened afresh (it may be a new one by then).
                drop(p);
                failing = true;
                let wait = backoff.next_delay();
                if let Some(l) = log.note(&format!("serial port {dev}: {why}; reopening")) {
                    tracing::warn!("{l}");
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Why a session on a serial line ended so that the port is opened afresh.
#[derive(Debug, thiserror::Error)]
enum LineGone {
    /// The far end went away (with the read or write error, when there was one).
    #[error("the other end went away{}", .0.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Gone(Option<std::io::Error>),
    /// The IEC 62056-21 sign-on failed.
    #[error("{0}")]
    SignOn(#[from] crate::transport::serial::ModeEError),
}

/// One session on a serial line: `Ok` when the port can serve the next one.
async fn serve_serial_session(
    port: &mut tokio_serial::SerialStream,
    config: &SimConfig,
    life: &MeterLife,
) -> Result<(), LineGone> {
    match serve_connection(port, config, 0, life.clone()).await {
        Ok(Ended::Idle | Ended::Done) => Ok(()),
        Ok(Ended::Closed) => Err(LineGone::Gone(None)),
        Err(e) => Err(LineGone::Gone(Some(e))),
    }
}
