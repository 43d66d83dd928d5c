//! Exporting the filtered log to a CSV file, off the UI thread.

use crate::store::{ExportFormat, LogFilter};
use crate::tui::app::{Ctx, Tab, TaskResult};
use chrono::{DateTime, Local};
use std::path::PathBuf;

/// The file name offered for an export started at `now`.
pub fn default_file(now: DateTime<Local>) -> String {
    now.format("dlms-logger-export-%Y%m%d-%H%M%S.csv")
        .to_string()
}

/// Asks the query service to write the rows of `filter` to `file` (never overwriting a file);
/// the result comes back as [`TaskResult::Export`].
pub fn start(ctx: &Ctx, filter: LogFilter, file: PathBuf) {
    let answer = ctx.answer(Tab::Log, {
        let file = file.clone();
        move |rows| TaskResult::Export(file, rows)
    });
    ctx.queries.export(filter, ExportFormat::Csv, file, answer);
}

/// The status-bar text of a finished export.
pub fn done(file: &std::path::Path, rows: u64) -> String {
    format!("exported {rows} rows to {}", file.display())
}
