//! What a logger needs to join a fleet: the coordinating database, its own name, the lease
//! timings; the database's URL shown only with its password masked.

use super::FleetError;
use std::time::Duration;

/// How often leases and the heartbeat are renewed by default.
pub const RENEW: Duration = Duration::from_secs(3);
/// How long a lease lasts after its last renewal by default (measured by the database's clock).
pub const EXPIRY: Duration = Duration::from_secs(15);
/// How long before its lease could expire a worker is stopped by default, when renewals fail.
pub const MARGIN: Duration = Duration::from_secs(5);

/// A logger's place in a fleet.
#[derive(Clone)]
pub struct FleetSettings {
    /// The PostgreSQL URL (`postgres://user:password@host:port/db`); never printed whole.
    pub database: String,
    /// This logger's name in the fleet (default: `hostname-pid`).
    pub instance: String,
    /// How often the leases and the heartbeat are renewed.
    pub renew: Duration,
    /// How long a lease lasts after a renewal.
    pub expiry: Duration,
    /// A worker stops this long before its lease could expire when the lease was not renewed.
    pub margin: Duration,
}

impl std::fmt::Debug for FleetSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSettings")
            .field("database", &masked(&self.database))
            .field("instance", &self.instance)
            .field("renew", &self.renew)
            .field("expiry", &self.expiry)
            .field("margin", &self.margin)
            .finish()
    }
}

impl FleetSettings {
    /// The default timings, under `instance` (or [`default_instance`]).
    pub fn new(database: impl Into<String>, instance: Option<String>) -> Self {
        FleetSettings {
            database: database.into(),
            instance: instance.unwrap_or_else(default_instance),
            renew: RENEW,
            expiry: EXPIRY,
            margin: MARGIN,
        }
    }

    /// Refuses timings that could let a worker outlive its lease: a renewal must fit (twice)
    /// before the margin, and the margin must leave the worker time to stop.
    pub fn check(&self) -> Result<(), FleetError> {
        let name_ok = !self.instance.is_empty()
            && self.instance.len() <= 100
            && !self.instance.chars().any(char::is_control);
        if !name_ok {
            return Err(FleetError::Settings(
                "the instance name must be 1 to 100 characters, none of them control characters"
                    .into(),
            ));
        }
        if self.margin < Duration::from_secs(1) {
            return Err(FleetError::Settings(
                "the lease margin must be at least 1 s: a worker needs it to stop".into(),
            ));
        }
        if self.renew.is_zero() || self.expiry < self.margin + self.renew * 2 {
            return Err(FleetError::Settings(format!(
                "a lease of {} with renewals every {} and a margin of {} leaves no time: the \
                 expiry must be at least the margin plus two renewals",
                crate::text::duration(self.expiry),
                crate::text::duration(self.renew),
                crate::text::duration(self.margin)
            )));
        }
        Ok(())
    }

    /// The longest a dead logger's connections stay without a holder: its lease expires, and
    /// another logger claims it at its next renewal.
    pub fn takeover_bound(&self) -> Duration {
        self.expiry + self.renew
    }
}

/// `hostname-pid`: unique on a host, and says where to look.
pub fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}-{}", std::process::id())
}

/// The URL with its password replaced by `********` (URL form `user:password@`, a
/// `password=` query parameter, or a `password=` word of the key/value form).
pub fn masked(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        let end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..end].rfind('@').map(|i| rest + i) {
            if let Some(colon) = out[rest..at].find(':').map(|i| rest + i) {
                out.replace_range(colon + 1..at, "********");
            }
        }
    }
    // `password=...` up to the next `&` or whitespace, in a query or the key/value form.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password=") {
        let value = i + "password=".len();
        result.push_str(&rest[..value]);
        result.push_str("********");
        let end = rest[value..]
            .find(|c: char| c == '&' || c.is_whitespace())
            .map_or(rest.len(), |j| value + j);
        rest = &rest[end..];
    }
    result.push_str(rest);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_every_form() {
        assert_eq!(
            masked("postgres://fleet:s3cr%40t@db.example:5432/logs"),
            "postgres://fleet:********@db.example:5432/logs"
        );
        assert_eq!(
            masked("postgresql://fleet@db/logs?sslmode=disable&password=hunter2"),
            "postgresql://fleet@db/logs?sslmode=disable&password=********"
        );
        assert_eq!(
            masked("host=db user=fleet password=hunter2 dbname=logs"),
            "host=db user=fleet password=******** dbname=logs"
        );
        assert_eq!(masked("postgres://db/logs"), "postgres://db/logs");
        let s = FleetSettings::new("postgres://a:topsecret@h/d", Some("one".into()));
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn timings_that_let_a_worker_outlive_its_lease_are_refused() {
        let mut s = FleetSettings::new("postgres://h/d", Some("one".into()));
        assert!(s.check().is_ok());
        assert!(s.takeover_bound() <= Duration::from_secs(30));
        s.expiry = Duration::from_secs(8);
        assert!(s.check().is_err());
        s.expiry = EXPIRY;
        s.margin = Duration::ZERO;
        assert!(s.check().is_err());
        s.margin = MARGIN;
        s.instance = "bad\nname".into();
        assert!(s.check().is_err());
    }

    #[test]
    fn the_default_instance_names_host_and_process() {
        assert!(default_instance().ends_with(&format!("-{}", std::process::id())));
    }
}
