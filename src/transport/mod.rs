//! Moving bytes: TCP today; serial and meter-initiated links come with their issue.
pub mod iec;
pub mod retry;
pub mod serial;
pub mod tcp;

use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream a DLMS link can run over (TCP socket, serial port, in-memory pipe).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed stream, so TCP and serial links share one session type.
pub type BoxStream = Box<dyn Stream>;
