//! Moving bytes: TCP, UDP (datagrams kept whole), serial ports and the mode E sign-on.
pub mod iec;
pub mod retry;
pub mod serial;
pub mod tcp;
pub mod udp;

use std::any::Any;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream a DLMS link can run over (TCP socket, serial port, in-memory pipe).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// Reads what the OS holds for this stream now, without waiting and without the runtime's
    /// event loop (`WouldBlock`: nothing yet); `None` when the stream cannot (only TCP can).
    /// A command polling for an answer uses it: tokio reads a socket only after its event
    /// loop saw it ready, one more system call and one more round of the runtime per answer.
    fn read_now(&mut self, buf: &mut [u8]) -> Option<std::io::Result<usize>>;
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {
    fn read_now(&mut self, buf: &mut [u8]) -> Option<std::io::Result<usize>> {
        // A type test, not a trait method per stream type, so any stream stays a `Stream`.
        let any: &mut dyn Any = self;
        if let Some(tcp) = any.downcast_mut::<tokio::net::TcpStream>() {
            return Some(tcp::read_now(tcp, buf));
        }
        if let Some(boxed) = any.downcast_mut::<BoxStream>() {
            // The stream inside (`boxed.read_now` would be this very impl again).
            return (**boxed).read_now(buf);
        }
        None
    }
}

/// A boxed stream, so TCP and serial links share one session type.
pub type BoxStream = Box<dyn Stream>;
