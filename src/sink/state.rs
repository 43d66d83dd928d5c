//! What a sink reports: connected, queued, dropped, published, the last error.

use crate::queue::{Sink, SinkKind};
use serde::{Deserialize, Serialize};

/// One sink's state, shown in the TUI's status bar, `dlms-logger status` and the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkState {
    /// The sink's name.
    pub name: String,
    /// Its kind (`mqtt`).
    pub kind: String,
    /// Where it delivers, without credentials (`mqtt://broker:1883`, `mqtts://…`).
    pub target: String,
    /// Connected to the broker now.
    pub connected: bool,
    /// Messages waiting in the outbox.
    pub queued: u64,
    /// Rows or messages dropped (a full queue, the outbox at its bound), ever.
    pub dropped: u64,
    /// Messages the broker acknowledged since start.
    pub published: u64,
    /// The last error, if any since the last connection.
    pub last_error: Option<String>,
}

impl SinkState {
    /// The state of a sink that has not connected yet.
    pub fn new(sink: &Sink) -> SinkState {
        let target = match &sink.kind {
            SinkKind::Mqtt(m) => format!(
                "{}://{}:{}",
                if m.tls { "mqtts" } else { "mqtt" },
                m.host,
                m.port
            ),
        };
        SinkState {
            name: sink.name.clone(),
            kind: sink.kind.name().to_string(),
            target,
            connected: false,
            queued: 0,
            dropped: 0,
            published: 0,
            last_error: None,
        }
    }

    /// One short line for the status bar: `mqtt ha: connected, 0 queued`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {}: {}, {} queued",
            self.kind,
            self.name,
            if self.connected {
                "connected"
            } else {
                "DISCONNECTED"
            },
            self.queued
        );
        if self.dropped > 0 {
            s.push_str(&format!(", {} DROPPED", self.dropped));
        }
        s
    }
}
