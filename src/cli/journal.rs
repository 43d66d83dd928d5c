//! Log lines for a logger without a terminal (systemd, nohup, a pipe): one line per event,
//! starting with the syslog priority as sd-daemon(3) prefixes it (`<3>` error, `<4>` warning,
//! `<6>` info, `<7>` debug), which journald reads as the line's priority and strips; then the
//! time (left out under systemd, whose journal stamps every line itself), the level, where
//! it comes from and the message: `<6>2026-12-06T08:00:00.123Z INFO dlms_logger::runner: …`.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// tracing's own lines, with the time (and colours on a terminal): a terminal, and the
    /// one-shot commands, whose errors scripts read.
    Plain,
    /// Without one: sd-daemon priority prefixes; `stamped` adds the time (not under journald).
    Journal {
        /// Whether each line carries the time.
        stamped: bool,
    },
}

impl Style {
    /// The logger's style for stderr: a terminal, journald (systemd sets `JOURNAL_STREAM`
    /// for a service whose stderr goes to the journal, systemd.exec(5)), or any other file or
    /// pipe.
    pub fn for_logger() -> Style {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Style::Plain
        } else {
            Style::Journal {
                stamped: std::env::var_os("JOURNAL_STREAM").is_none(),
            }
        }
    }

    /// The prefix of a line of this level: `<3>` for an error, nothing on a terminal.
    pub fn prefix(self, level: Level) -> String {
        match self {
            Style::Plain => String::new(),
            Style::Journal { .. } => format!("<{}>", priority(level)),
        }
    }
}

/// The syslog priority of a level (RFC 5424: 3 error, 4 warning, 6 informational, 7 debug).
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Logs to stderr in `style` at `default_level` (`DLMS_LOG` overrides it, e.g. `debug`).
/// Meter names and strings from meters may hold control characters or bidi overrides: every
/// logged value is escaped (the level colours are not values), which also keeps each event
/// on one line.
pub fn init(default_level: &str, style: Style) {
    let fields = tracing_subscriber::field::MakeExt::delimited(
        tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            let text = format!("{value:?}");
            let text = dlms_logger::text::escape(&text);
            match field.name() {
                "message" => write!(w, "{text}"),
                name => write!(w, "{name}={text}"),
            }
        }),
        " ",
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DLMS_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .fmt_fields(fields);
    match style {
        Style::Plain => builder.init(),
        Style::Journal { stamped } => builder.event_format(JournalFormat { stamped }).init(),
    }
}

/// The line format of [`Style::Journal`].
#[derive(Debug, Clone, Copy)]
pub struct JournalFormat {
    /// Whether each line carries the time (UTC, milliseconds).
    pub stamped: bool,
}

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(writer, "<{}>", priority(*meta.level()))?;
        if self.stamped {
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            write!(writer, "{now} ")?;
        }
        write!(writer, "{} {}: ", meta.level(), meta.target())?;
        // The fields are escaped by the binary's field formatter, so a message is one line.
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_syslog_priorities() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
        assert_eq!(
            Style::Journal { stamped: false }.prefix(Level::ERROR),
            "<3>"
        );
        assert_eq!(Style::Plain.prefix(Level::ERROR), "");
    }
}
