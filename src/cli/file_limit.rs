//! The open-file limit of the logger and the simulator: raised to the hard limit at start.
//!
//! A logger keeps one socket per meter on a persistent connection, the simulator two (a
//! listener and the accepted link), and the usual soft limit is 1,024: without this a user
//! would need `ulimit -n` first. The hard limit stays what the system set (`ulimit -Hn`,
//! systemd's `LimitNOFILE=`); the runner keeps its links within what the raised limit allows
//! (`runner/budget.rs`). One-shot commands skip it: a `read` opens one socket.

/// Raises the soft RLIMIT_NOFILE to the hard limit (one getrlimit and one setrlimit).
pub fn raise() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!("open-file limit: {n}"),
        Err(e) => tracing::warn!(
            "the open-file limit could not be raised to its hard limit ({e}); fewer links can be kept open"
        ),
    }
}
