//! Exporting the filtered log to a CSV file in the background.

use crate::store::{ExportFormat, LogFilter, Store};
use crate::tui::app::{Ctx, Tab, TaskResult};
use chrono::{DateTime, Local};
use std::path::{Path, PathBuf};

/// The file name offered for an export started at `now`.
pub fn default_file(now: DateTime<Local>) -> String {
    now.format("dlms-logger-export-%Y%m%d-%H%M%S.csv")
        .to_string()
}

/// Writes the rows of `filter` to `file` off the UI thread; the result comes back as [`TaskResult::Export`].
pub fn start(ctx: &Ctx, filter: LogFilter, file: PathBuf) {
    let db = ctx.db_path.clone();
    ctx.spawn(Tab::Log, async move {
        let result = tokio::task::spawn_blocking(move || write_csv(&db, &filter, &file))
            .await
            .unwrap_or_else(|e| Err(format!("the export stopped: {e}")));
        TaskResult::Export(result)
    });
}

fn write_csv(db: &Path, filter: &LogFilter, file: &Path) -> Result<String, String> {
    // The UI's own connection stays on the UI thread (a connection is not Sync), so the
    // export reads through its own; WAL lets it run beside the writer and the UI.
    let store = Store::open(db).map_err(|e| e.to_string())?;
    // Never overwrite: an earlier export or some other file may already have this name.
    let mut out = std::fs::File::create_new(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let rows = store
        .export(filter, ExportFormat::Csv, &mut out)
        .map_err(|e| e.to_string())?;
    out.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(format!("exported {rows} rows to {}", file.display()))
}
