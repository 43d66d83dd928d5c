//! The local control socket of a running logger: `dlms-logger trigger NAME` fires an event.
//!
//! A Unix socket, created user-only (0600); a connection from another user is refused
//! (checked with the peer's credentials). Protocol: one line `trigger NAME`, one line back,
//! `ok N` (N requests fired) or `error: …`.

use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Why the control socket failed.
#[derive(Debug, Error)]
pub enum ControlError {
    /// Another logger already listens on this socket.
    #[error("another dlms-logger is running with control socket {0} (stop it, or use another --db or --socket)")]
    InUse(PathBuf),
    /// The socket could not be created or reached.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The logger answered with an error.
    #[error("{0}")]
    Refused(String),
}

/// The default socket path for a database: `<db>.sock` beside it.
pub fn default_socket(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".sock");
    PathBuf::from(s)
}

/// Binds the control socket (user-only), replacing a stale one left by a crash.
pub async fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ControlError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// Serves trigger requests until the task is dropped; `fire` returns how many requests an
/// event started.
pub async fn serve(
    listener: UnixListener,
    path: PathBuf,
    fire: impl Fn(&str) -> usize + Send + Sync + 'static,
) {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&path).map(|m| m.uid()).ok();
    let fire = std::sync::Arc::new(fire);
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let peer = stream.peer_cred().ok().map(|c| c.uid());
        if owner.is_none() || peer != owner {
            tracing::warn!("control socket: refused a connection from uid {peer:?}");
            let answer =
                "error: not allowed: only the user running the logger may trigger events\n";
            let _ = stream.write_all(answer.as_bytes()).await;
            continue;
        }
        let fire = fire.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.split();
            let mut line = String::new();
            let read = tokio::time::timeout(
                Duration::from_secs(5),
                BufReader::new(r).take(1024).read_line(&mut line),
            )
            .await;
            let answer = match (read, line.trim().split_once(' ')) {
                (Ok(Ok(_)), Some(("trigger", name))) if !name.trim().is_empty() => {
                    let name = name.trim();
                    match fire(name) {
                        0 => format!("error: no enabled request listens to event {name:?}\n"),
                        n => {
                            tracing::info!("event {name} triggered from outside: {n} request(s)");
                            format!("ok {n}\n")
                        }
                    }
                }
                _ => "error: expected `trigger NAME`\n".to_string(),
            };
            let _ = w.write_all(answer.as_bytes()).await;
        });
    }
}

/// Asks the logger listening on `path` to fire event `name`; returns how many requests fired.
pub async fn trigger(path: &Path, name: &str) -> Result<usize, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = UnixStream::connect(path).await.map_err(|e| {
        if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) {
            ControlError::Refused(format!(
                "no dlms-logger is running with control socket {} (start `dlms-logger run`, or give --socket / --db)",
                path.display()
            ))
        } else {
            io(e)
        }
    })?;
    // A logger that refuses us answers and closes at once, so the write may fail with a broken
    // pipe: the answer is still there to read, and it says why.
    let sent = stream
        .write_all(format!("trigger {name}\n").as_bytes())
        .await;
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(stream).read_line(&mut line),
    )
    .await
    .map_err(|_| ControlError::Refused("the logger did not answer within 5 s".into()))?;
    let line = line.trim();
    if line.is_empty() {
        // Never an io error of kind BrokenPipe: the CLI treats those as a closed stdout.
        let why = match (sent, read) {
            (Err(e), _) | (_, Err(e)) => e.to_string(),
            _ => "no answer".into(),
        };
        return Err(ControlError::Refused(format!(
            "the logger closed the control connection without answering ({why})"
        )));
    }
    match line.strip_prefix("ok ") {
        Some(n) => Ok(n.parse().unwrap_or(0)),
        None => Err(ControlError::Refused(
            line.strip_prefix("error: ").unwrap_or(line).to_string(),
        )),
    }
}

use tokio::io::AsyncReadExt as _;
