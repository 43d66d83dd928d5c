//! Moving bytes: TCP, UDP (datagrams kept whole), serial ports and the mode E sign-on.
pub mod iec;
pub mod retry;
pub mod serial;
pub mod tcp;
pub mod udp;

use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream a DLMS link can run over (TCP socket, serial port, in-memory pipe).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed stream, so TCP and serial links share one session type.
pub type BoxStream = Box<dyn Stream>;
