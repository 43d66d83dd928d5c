//! Exporting the log as CSV or JSON lines.

use std::io::Write;

use chrono::{DateTime, SecondsFormat};

use super::query::Order;
use super::{LogFilter, Record, Row, Store, StoreError};

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Json,
}

/// The CSV header; records follow the same column order. `value` is exact (the meter's
/// decimal digits); `meter_time` is the row's time as the meter stated it when its clock
/// status warns (profile entries captured with an invalid or doubtful clock).
const CSV_HEADER: [&str; 13] = [
    "ts",
    "request",
    "meter",
    "item",
    "obis",
    "class",
    "attribute",
    "value",
    "text",
    "unit",
    "status",
    "poll",
    "meter_time",
];

/// One exported line in JSON form.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    ts: String,
    request: &'a str,
    meter: &'a str,
    item: &'a str,
    obis: &'a str,
    class: u16,
    attribute: i8,
    /// An integer when whole (u64 and i64 exact), else a number.
    value: serde_json::Value,
    text: Option<&'a str>,
    unit: Option<&'a str>,
    status: &'a str,
    poll: i64,
    meter_time: Option<&'a str>,
}

/// RFC 3339 UTC with milliseconds; a timestamp outside chrono's range stays a number rather than failing the export.
fn rfc3339(ts_ms: i64) -> String {
    DateTime::from_timestamp_millis(ts_ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ts_ms.to_string())
}

fn csv_record(r: &Record) -> [String; 13] {
    [
        rfc3339(r.ts_ms),
        r.request.clone(),
        r.meter.clone(),
        r.item.clone(),
        r.obis.clone(),
        r.class.to_string(),
        r.attribute.to_string(),
        r.value_text().unwrap_or_default(),
        r.text.clone().unwrap_or_default(),
        r.unit.clone().unwrap_or_default(),
        r.status.clone(),
        r.poll.to_string(),
        r.meter_time.clone().unwrap_or_default(),
    ]
}

fn json_line(r: &Record) -> JsonLine<'_> {
    JsonLine {
        ts: rfc3339(r.ts_ms),
        request: &r.request,
        meter: &r.meter,
        item: &r.item,
        obis: &r.obis,
        class: r.class,
        attribute: r.attribute,
        value: r.value_json(),
        text: r.text.as_deref(),
        unit: r.unit.as_deref(),
        status: &r.status,
        poll: r.poll,
        meter_time: r.meter_time.as_deref(),
    }
}

impl Store {
    /// Streams the filtered rows, oldest first, to CSV or JSON lines; returns how many rows were written.
    pub fn export(
        &self,
        filter: &LogFilter,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64, StoreError> {
        write_export(&self.path, format, out, |visit| {
            self.scan(filter, None, Order::OldestFirst, usize::MAX, visit)
        })
    }
}

/// A row handed to an export.
pub(super) type Visit<'a> = &'a mut dyn FnMut(Row) -> Result<(), StoreError>;

/// Writes the rows `scan` feeds (oldest first) as CSV or JSON lines to `out`; `database`
/// names the store in errors. Every backend exports through this, so their files are equal.
pub(super) fn write_export(
    database: &std::path::Path,
    format: ExportFormat,
    out: &mut dyn Write,
    scan: impl FnOnce(Visit<'_>) -> Result<u64, StoreError>,
) -> Result<u64, StoreError> {
    let failed = |source: std::io::Error| StoreError::Export {
        path: database.to_path_buf(),
        source,
    };
    match format {
        ExportFormat::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(CSV_HEADER).map_err(|e| failed(e.into()))?;
            let written = scan(&mut |row| {
                csv.write_record(csv_record(&row.record))
                    .map_err(|e| failed(e.into()))
            })?;
            csv.flush().map_err(failed)?;
            Ok(written)
        }
        ExportFormat::Json => {
            let mut out = std::io::BufWriter::new(out);
            let written = scan(&mut |row| {
                serde_json::to_writer(&mut out, &json_line(&row.record))
                    .map_err(|e| failed(e.into()))?;
                out.write_all(b"\n").map_err(failed)
            })?;
            out.flush().map_err(failed)?;
            Ok(written)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::*;

    fn sample_store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let text = Record {
            value: None,
            text: Some("say \"hi\", then go".into()),
            unit: None,
            ..sample::ok("m1", "greeting", 1_700_000_000_123, 0.0)
        };
        store
            .insert_batch(&[
                sample::ok("m1", "energy", 1_700_000_000_000, 1234.5),
                text,
                sample::failed("m2", "energy", 1_700_000_001_000, "timeout, no answer"),
            ])
            .unwrap();
        store
    }

    fn export(store: &Store, filter: &LogFilter, format: ExportFormat) -> (u64, String) {
        let mut out = Vec::new();
        let written = store.export(filter, format, &mut out).unwrap();
        (written, String::from_utf8(out).unwrap())
    }

    #[test]
    fn csv_is_quoted_and_oldest_first() {
        let (written, csv) = export(&sample_store(), &LogFilter::default(), ExportFormat::Csv);
        assert_eq!(written, 3);
        assert_eq!(
            csv,
            "ts,request,meter,item,obis,class,attribute,value,text,unit,status,poll,meter_time\n\
             2023-11-14T22:13:20.000Z,billing,m1,energy,1.0.6.8.0.255,3,2,1234.5,,kWh,ok,1,\n\
             2023-11-14T22:13:20.123Z,billing,m1,greeting,1.0.8.8.0.255,3,2,,\"say \"\"hi\"\", then go\",,ok,1,\n\
             2023-11-14T22:13:21.000Z,billing,m2,energy,1.0.6.8.0.255,3,2,,,,\"timeout, no answer\",1,\n"
        );
    }

    #[test]
    fn json_lines_follow_the_filter() {
        let filter = LogFilter {
            meter: Some("m1".into()),
            ..LogFilter::default()
        };
        let (written, json) = export(&sample_store(), &filter, ExportFormat::Json);
        assert_eq!(written, 2);
        assert_eq!(
            json,
            r#"{"ts":"2023-11-14T22:13:20.000Z","request":"billing","meter":"m1","item":"energy","obis":"1.0.6.8.0.255","class":3,"attribute":2,"value":1234.5,"text":null,"unit":"kWh","status":"ok","poll":1,"meter_time":null}
{"ts":"2023-11-14T22:13:20.123Z","request":"billing","meter":"m1","item":"greeting","obis":"1.0.8.8.0.255","class":3,"attribute":2,"value":null,"text":"say \"hi\", then go","unit":null,"status":"ok","poll":1,"meter_time":null}
"#
        );
    }

    #[test]
    fn values_are_exported_exactly_with_the_meters_time() {
        let mut store = Store::open_in_memory().unwrap();
        let mut max = sample::ok("m1", "counter", 1_700_000_000_000, 0.0);
        max.set_decimal(crate::dlms::unit::Decimal::from_int(u64::MAX as i128));
        let mut min = sample::ok("m1", "signed", 1_700_000_000_001, 0.0);
        min.set_decimal(crate::dlms::unit::Decimal::from_int(i64::MIN as i128));
        let mut kwh = sample::ok("m1", "energy", 1_700_000_000_002, 0.0);
        kwh.set_decimal("9430.701".parse().unwrap());
        let profile = Record {
            profile: true,
            meter_time: Some("2026-11-21T12:07:30+01:00 (invalid)".into()),
            ..sample::ok("m1", "load", 1_700_000_000_003, 12.5)
        };
        store.insert_batch(&[max, min, kwh, profile]).unwrap();
        let (_, csv) = export(&store, &LogFilter::default(), ExportFormat::Csv);
        let values: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(7).unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "18446744073709551615",
                "-9223372036854775808",
                "9430.701",
                "12.5"
            ]
        );
        assert!(csv
            .lines()
            .last()
            .unwrap()
            .ends_with(",2026-11-21T12:07:30+01:00 (invalid)"));
        let (_, json) = export(&store, &LogFilter::default(), ExportFormat::Json);
        let lines: Vec<&str> = json.lines().collect();
        assert!(
            lines[0].contains(r#""value":18446744073709551615,"#),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(r#""value":-9223372036854775808,"#),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(r#""value":9430.701,"#), "{}", lines[2]);
        assert!(
            lines[3].contains(r#""meter_time":"2026-11-21T12:07:30+01:00 (invalid)""#),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn timestamps_beyond_the_calendar_stay_numbers() {
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn write_errors_name_the_database() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let err = sample_store()
                .export(&LogFilter::default(), format, &mut Broken)
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "exporting from database :memory: failed while writing the output: disk gone"
            );
        }
    }
}
