//! Prometheus metrics of the running logger (`--metrics 127.0.0.1:9464`): polls by request,
//! connection and outcome, failures by kind, latency histograms per connection (a poll's
//! duration, the meter's round trip, the queue lag between a fire and its run), and, read at
//! each scrape from a snapshot the command line provides: rows stored and dropped, each
//! sink's backlog, and the invocation counter space left per key.
//!
//! Uses nothing of ours: the runner records into [`Metrics`], `http.rs` serves it.

mod http;

pub use http::{serve, MetricsError};

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PollLabels {
    request: String,
    connection: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    connection: String,
}

/// One sink's numbers at a scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkNumbers {
    /// The sink's name.
    pub name: String,
    /// Connected now.
    pub connected: bool,
    /// Messages waiting (the backlog).
    pub queued: u64,
    /// Dropped, ever.
    pub dropped: u64,
    /// Acknowledged since start.
    pub published: u64,
}

/// The runner's link budget at a scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkNumbers {
    /// Links held at most at once.
    pub budget: u64,
    /// Links kept open between runs at most.
    pub keep_limit: u64,
    /// Links kept open now.
    pub kept: u64,
    /// Runs read over a link opened for the run because the budget was full, since start.
    pub per_run: u64,
}

/// What is read at each scrape rather than counted as it happens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Rows stored since start.
    pub rows_stored: u64,
    /// Failure rows among them.
    pub failures_stored: u64,
    /// Rows neither stored nor kept.
    pub rows_dropped: u64,
    /// Each sink.
    pub sinks: Vec<SinkNumbers>,
    /// Invocation counter values left per (our system title, key fingerprint).
    pub counter_space: Vec<(String, String, u64)>,
    /// The link budget.
    pub links: LinkNumbers,
}

type SnapshotFn = Box<dyn Fn() -> Snapshot + Send + Sync>;

/// Encodes the snapshot at each scrape.
struct Snapshots(Arc<Mutex<Option<SnapshotFn>>>);

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshots")
    }
}

impl prometheus_client::collector::Collector for Snapshots {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(f) => f(),
            None => return Ok(()),
        };
        let counter = |enc: &mut DescriptorEncoder, name, help, v: u64| {
            ConstCounter::new(v).encode(enc.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)
        };
        counter(
            &mut enc,
            "dlms_rows_stored",
            "Rows (readings and failures) stored in the log since start.",
            s.rows_stored,
        )?;
        counter(
            &mut enc,
            "dlms_failure_rows_stored",
            "Failure rows stored in the log since start.",
            s.failures_stored,
        )?;
        counter(
            &mut enc,
            "dlms_rows_dropped",
            "Rows neither stored nor kept (store refused, memory and spill file full).",
            s.rows_dropped,
        )?;
        let per_sink = |enc: &mut DescriptorEncoder,
                        name: &str,
                        help: &str,
                        kind: MetricType,
                        value: &dyn Fn(&SinkNumbers) -> u64|
         -> Result<(), std::fmt::Error> {
            let mut family = enc.encode_descriptor(name, help, None, kind)?;
            for sink in &s.sinks {
                let labels = [("sink", sink.name.as_str())];
                let e = family.encode_family(&labels)?;
                match kind {
                    MetricType::Counter => ConstCounter::new(value(sink)).encode(e)?,
                    _ => ConstGauge::new(value(sink) as i64).encode(e)?,
                }
            }
            Ok(())
        };
        per_sink(
            &mut enc,
            "dlms_sink_connected",
            "1 when the sink is connected to its broker.",
            MetricType::Gauge,
            &|s| u64::from(s.connected),
        )?;
        per_sink(
            &mut enc,
            "dlms_sink_backlog",
            "Messages waiting in the sink's outbox.",
            MetricType::Gauge,
            &|s| s.queued,
        )?;
        per_sink(
            &mut enc,
            "dlms_sink_dropped",
            "Messages the sink dropped (full queue or outbox), ever.",
            MetricType::Gauge,
            &|s| s.dropped,
        )?;
        per_sink(
            &mut enc,
            "dlms_sink_published",
            "Messages the broker acknowledged since start.",
            MetricType::Counter,
            &|s| s.published,
        )?;
        let gauge = |enc: &mut DescriptorEncoder, name, help, v: u64| {
            ConstGauge::new(v as i64).encode(enc.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)
        };
        gauge(
            &mut enc,
            "dlms_link_budget",
            "Links (sockets, serial ports) the logger holds at most at once (--link-budget; default the open-file limit less 256).",
            s.links.budget,
        )?;
        gauge(
            &mut enc,
            "dlms_links_kept_limit",
            "Links kept open between runs at most (the budget less the slots for links opened per run).",
            s.links.keep_limit,
        )?;
        gauge(
            &mut enc,
            "dlms_links_kept",
            "Links of persistent connections kept open now.",
            s.links.kept,
        )?;
        counter(
            &mut enc,
            "dlms_per_run_links",
            "Runs read over a link opened and closed for the run because the link budget was full.",
            s.links.per_run,
        )?;
        let mut family = enc.encode_descriptor(
            "dlms_counter_space_left",
            "Invocation counter values left for a key (our system title, key fingerprint).",
            None,
            MetricType::Gauge,
        )?;
        for (title, key, left) in &s.counter_space {
            let labels = [("system_title", title.as_str()), ("key", key.as_str())];
            ConstGauge::new(*left as i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The logger's metrics; cheap to share behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    polls: Family<PollLabels, Counter>,
    failures: Family<KindLabels, Counter>,
    poll_seconds: PerConnection,
    round_trip_seconds: PerConnection,
    queue_lag_seconds: PerConnection,
    snapshot: Arc<Mutex<Option<SnapshotFn>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Histograms per connection, each with the buckets its constructor gives.
type PerConnection = Family<ConnectionLabels, Histogram, fn() -> Histogram>;

/// 1 ms to ~65 s.
fn run_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// 0.5 ms to ~16 s.
fn round_trip_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// Registers every metric; the snapshot is empty until [`Metrics::set_snapshot`].
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let polls = Family::<PollLabels, Counter>::default();
        registry.register(
            "dlms_polls",
            "Runs of a request on a connection, by outcome (ok: every item read).",
            polls.clone(),
        );
        let failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "dlms_failures",
            "Failures by kind: a meter run that failed (timeout, io, link, session, ...) or an item the meter refused (item).",
            failures.clone(),
        );
        let poll_seconds = PerConnection::new_with_constructor(run_buckets);
        registry.register(
            "dlms_poll_duration_seconds",
            "How long a request's run on a connection took.",
            poll_seconds.clone(),
        );
        let round_trip_seconds = PerConnection::new_with_constructor(round_trip_buckets);
        registry.register(
            "dlms_round_trip_seconds",
            "A meter's round-trip time (request to answer) in a run.",
            round_trip_seconds.clone(),
        );
        let queue_lag_seconds = PerConnection::new_with_constructor(run_buckets);
        registry.register(
            "dlms_queue_lag_seconds",
            "How long a fired request waited for its connection's worker.",
            queue_lag_seconds.clone(),
        );
        let snapshot = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(Snapshots(snapshot.clone())));
        Arc::new(Metrics {
            registry,
            polls,
            failures,
            poll_seconds,
            round_trip_seconds,
            queue_lag_seconds,
            snapshot,
        })
    }

    /// Where the values read at each scrape come from (the running logger).
    pub fn set_snapshot(&self, f: impl Fn() -> Snapshot + Send + Sync + 'static) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
    }

    /// A run of `request` on `connection` ended after `took`.
    pub fn poll(&self, request: &str, connection: &str, ok: bool, took: Duration) {
        self.polls
            .get_or_create(&PollLabels {
                request: request.to_string(),
                connection: connection.to_string(),
                outcome: if ok { "ok" } else { "failed" },
            })
            .inc();
        self.poll_seconds
            .get_or_create(&ConnectionLabels {
                connection: connection.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// `n` failures of `kind`.
    pub fn failures(&self, kind: &'static str, n: u64) {
        self.failures.get_or_create(&KindLabels { kind }).inc_by(n);
    }

    /// A meter on `connection` answered in `rtt`.
    pub fn round_trip(&self, connection: &str, rtt: Duration) {
        self.round_trip_seconds
            .get_or_create(&ConnectionLabels {
                connection: connection.to_string(),
            })
            .observe(rtt.as_secs_f64());
    }

    /// A fired request waited `lag` before its worker ran it.
    pub fn queue_lag(&self, connection: &str, lag: Duration) {
        self.queue_lag_seconds
            .get_or_create(&ConnectionLabels {
                connection: connection.to_string(),
            })
            .observe(lag.as_secs_f64());
    }

    /// The text exposition (OpenMetrics), as served at `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_histograms_and_the_snapshot_are_exposed() {
        let m = Metrics::new();
        m.poll("energy", "lab", true, Duration::from_millis(30));
        m.poll("energy", "lab", false, Duration::from_millis(3));
        m.failures("timeout", 1);
        m.failures("item", 2);
        m.round_trip("lab", Duration::from_millis(2));
        m.queue_lag("lab", Duration::from_millis(1));
        m.set_snapshot(|| Snapshot {
            rows_stored: 12,
            sinks: vec![SinkNumbers {
                name: "ha".into(),
                connected: true,
                queued: 5,
                ..Default::default()
            }],
            counter_space: vec![("4C47520000000001".into(), "ab12".into(), 4_000_000_000)],
            links: LinkNumbers {
                budget: 19_744,
                keep_limit: 19_488,
                kept: 19_488,
                per_run: 7,
            },
            ..Default::default()
        });
        let text = m.encode();
        for line in [
            "dlms_polls_total{request=\"energy\",connection=\"lab\",outcome=\"ok\"} 1",
            "dlms_polls_total{request=\"energy\",connection=\"lab\",outcome=\"failed\"} 1",
            "dlms_failures_total{kind=\"item\"} 2",
            "dlms_poll_duration_seconds_count{connection=\"lab\"} 2",
            "dlms_round_trip_seconds_count{connection=\"lab\"} 1",
            "dlms_queue_lag_seconds_count{connection=\"lab\"} 1",
            "dlms_rows_stored_total 12",
            "dlms_sink_backlog{sink=\"ha\"} 5",
            "dlms_sink_connected{sink=\"ha\"} 1",
            "dlms_counter_space_left{system_title=\"4C47520000000001\",key=\"ab12\"} 4000000000",
            "dlms_link_budget 19744",
            "dlms_links_kept_limit 19488",
            "dlms_links_kept 19488",
            "dlms_per_run_links_total 7",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
