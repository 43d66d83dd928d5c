//! `dlms-logger export`: the logged rows as CSV or JSON lines.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use dlms_logger::store::{Database, ExportFormat, LogFilter, StoreLocation};
use std::io::Write;
use std::path::PathBuf;

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Json,
}

/// Flags of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The log written by `dlms-logger run`: an SQLite file or a PostgreSQL URL. Default: the
    /// `store` of the queue (-c FILE or ./dlms-logger.toml), else dlms-logger.db.
    #[arg(long = "store", visible_alias = "db", value_name = "URL|FILE")]
    pub store: Option<String>,
    /// The queue whose `store` names the log (default ./dlms-logger.toml when present).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Only rows at or after this time: RFC 3339, or an age like 30min, 24h, 7d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only rows before this time: RFC 3339, or an age like 1h.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this request.
    #[arg(long)]
    pub request: Option<String>,
    /// Only this meter.
    #[arg(long)]
    pub meter: Option<String>,
    /// Only this item (name or OBIS code).
    #[arg(long)]
    pub item: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Parses an RFC 3339 time or an age (`90s`, `30min`, `24h`, `7d`) before now, as UTC ms.
pub fn parse_time(flag: &str, text: &str) -> Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let secs = match unit.trim() {
        "s" => 1,
        "min" | "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match n.parse::<i64>() {
        Ok(n) if secs > 0 => Ok(Utc::now().timestamp_millis() - n.saturating_mul(secs * 1000)),
        _ => bail!("{flag} {text:?} is neither an RFC 3339 time (2026-11-21T08:00:00Z) nor an age like 30min, 24h or 7d"),
    }
}

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let configured = match &args.store {
        Some(_) => None,
        None => super::store::store_in_config(args.config.as_deref())?,
    };
    let at = super::store::location(args.store.as_deref(), configured.as_deref())?;
    if let StoreLocation::Sqlite(path) = &at {
        if !path.exists() {
            bail!(
                "no database at {} (give --store FILE or --store postgres://…)",
                path.display()
            );
        }
    }
    let filter = LogFilter {
        request: args.request.clone(),
        meter: args.meter.clone(),
        item: args.item.clone(),
        status: None,
        since_ms: args
            .since
            .as_deref()
            .map(|t| parse_time("--since", t))
            .transpose()?,
        until_ms: args
            .until
            .as_deref()
            .map(|t| parse_time("--until", t))
            .transpose()?,
    };
    // An SQLite file of an older version is brought up to date as before; a PostgreSQL
    // database is only read (nothing is created on a server by an export).
    let store = match &at {
        StoreLocation::Sqlite(_) => Database::open(&at)?,
        StoreLocation::Postgres(_) => Database::open_read_only(&at)?,
    };
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Json => ExportFormat::Json,
    };
    let n = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let n = store.export(&filter, format, &mut out)?;
            out.flush()?;
            n
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let n = store.export(&filter, format, &mut out)?;
            out.flush()?;
            n
        }
    };
    if args.output.is_some() {
        eprintln!("exported {n} rows");
    }
    Ok(())
}
