//! The simulated load profile (1.0.99.1.0.255): a row per capture period, computed from the
//! time like every other value, read whole or by range or entry (selective access).

use super::names::{CLOCK, ENERGY_EXPORT, ENERGY_IMPORT};
use super::SimMeter;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{DataAccessResult, SelectiveAccess};
use chrono::TimeZone;

impl SimMeter {
    /// Start of the newest profile period at or before `now`.
    pub(super) fn last_capture(&self) -> i64 {
        let t = self.now.timestamp();
        t - t.rem_euclid(self.capture_period)
    }

    pub(super) fn profile_row(&self, ts: i64) -> Data {
        let t = self
            .now
            .offset()
            .timestamp_opt(ts, 0)
            .single()
            .unwrap_or(self.now);
        Data::Structure(vec![
            self.datetime(&t),
            Data::DoubleLongUnsigned(self.energy_import(&t)),
            Data::DoubleLongUnsigned(self.energy_export(&t)),
        ])
    }

    pub(super) fn capture_objects() -> Data {
        let col = |class: u16, obis: Obis| {
            Data::Structure(vec![
                Data::LongUnsigned(class),
                Data::OctetString(obis.0.to_vec()),
                Data::Integer(2),
                Data::LongUnsigned(0),
            ])
        };
        Data::Array(vec![
            col(8, CLOCK),
            col(3, ENERGY_IMPORT),
            col(3, ENERGY_EXPORT),
        ])
    }

    /// The rows in the buffer, oldest first: their capture time, and the row itself when it
    /// was captured on demand (method 2) rather than at a period's end. A reset (method 1)
    /// empties it; the buffer keeps the newest `profile_entries` rows.
    fn row_times(&self) -> Vec<(i64, Option<Data>)> {
        let period = self.capture_period;
        let newest = self.last_capture();
        let n = i64::from(self.profile_entries.max(1));
        let (reset, captured) = {
            let s = self.state();
            (s.profile_reset, s.captured.clone())
        };
        let mut oldest = newest - (n - 1) * period;
        if let Some(r) = reset {
            oldest = oldest.max((r.div_euclid(period) + 1) * period);
        }
        let mut rows: Vec<(i64, Option<Data>)> = (0..)
            .map(|k| oldest + k * period)
            .take_while(|t| *t <= newest)
            .map(|t| (t, None))
            .collect();
        rows.extend(
            captured
                .into_iter()
                .filter(|(t, _)| reset.is_none_or(|r| *t >= r))
                .map(|(t, row)| (t, Some(row))),
        );
        rows.sort_by_key(|r| r.0);
        let surplus = rows.len().saturating_sub(n as usize);
        rows.drain(..surplus);
        rows
    }

    /// Attribute 7, entries_in_use.
    pub(super) fn entries_in_use(&self) -> u32 {
        self.row_times().len() as u32
    }

    /// The profile buffer, all of it or as selected: entry numbers are 1 = oldest.
    pub(super) fn profile_buffer(
        &self,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        if access.is_some() && !self.selective_access {
            // A meter without selective access refuses it; clients must read the whole buffer.
            return Err(DataAccessResult::OtherReason);
        }
        let mut rows = self.row_times();
        let mut cols = (1usize, 3usize);
        match access {
            None => {}
            Some(SelectiveAccess {
                selector: 1,
                parameters,
            }) => {
                // range_descriptor {restricting object, from, to, selected values}
                let Data::Structure(p) = parameters else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let when = |d: Option<&Data>| {
                    d.and_then(Data::as_date_time)
                        .and_then(|c| {
                            c.to_chrono().map(|t| t.timestamp()).or_else(|| {
                                c.naive().map(|n| {
                                    n.and_utc().timestamp()
                                        - self.now.offset().local_minus_utc() as i64
                                })
                            })
                        })
                        .ok_or(DataAccessResult::TypeUnmatched)
                };
                let (f, t) = (when(p.get(1))?, when(p.get(2))?);
                // Rows whose capture time lies within [from, to].
                rows.retain(|(ts, _)| (f..=t).contains(ts));
            }
            Some(SelectiveAccess {
                selector: 2,
                parameters,
            }) => {
                let Data::Structure(p) = parameters else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let num = |i: usize| {
                    p.get(i)
                        .and_then(Data::as_i128)
                        .ok_or(DataAccessResult::TypeUnmatched)
                };
                let (fe, te, fc, tc) = (num(0)?, num(1)?, num(2)?, num(3)?);
                let len = rows.len();
                let first = usize::try_from(fe.max(1) - 1)
                    .unwrap_or(usize::MAX)
                    .min(len);
                let last = if te == 0 {
                    len
                } else {
                    usize::try_from(te.max(0)).unwrap_or(usize::MAX).min(len)
                };
                rows = rows.drain(first..last.max(first)).collect();
                let fc = usize::try_from(fc.max(1)).unwrap_or(usize::MAX);
                let tc = if tc == 0 {
                    3
                } else {
                    usize::try_from(tc.max(0)).unwrap_or(usize::MAX)
                };
                if fc > 3 || tc < fc {
                    return Err(DataAccessResult::OtherReason);
                }
                cols = (fc, tc.min(3));
            }
            Some(_) => return Err(DataAccessResult::OtherReason),
        }
        Ok(Data::Array(
            rows.into_iter()
                .map(
                    |(ts, captured)| match captured.unwrap_or_else(|| self.profile_row(ts)) {
                        Data::Structure(v) => Data::Structure(v[cols.0 - 1..cols.1].to_vec()),
                        other => other,
                    },
                )
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::names::LOAD_PROFILE;
    use super::super::tests::{get, meter};
    use super::super::PROFILE_ENTRIES;
    use crate::dlms::data::Data;
    use crate::dlms::datetime::CosemDateTime;
    use crate::dlms::xdlms::SelectiveAccess;
    use chrono::{FixedOffset, TimeZone};

    #[test]
    fn profile_has_every_entry_and_ends_at_the_last_period() {
        let mut m = meter();
        let Data::Array(rows) = get(&mut m, 7, LOAD_PROFILE, 2, None).unwrap() else {
            panic!()
        };
        assert_eq!(rows.len(), PROFILE_ENTRIES as usize);
        let Data::Structure(last) = &rows[rows.len() - 1] else {
            panic!()
        };
        assert_eq!(last[0].to_string(), "2026-11-21T12:00:00+01:00");
    }

    #[test]
    fn profile_by_entry_and_by_range() {
        let mut m = meter();
        let by_entry = SelectiveAccess {
            selector: 2,
            parameters: Data::Structure(vec![
                Data::DoubleLongUnsigned(1),
                Data::DoubleLongUnsigned(10),
                Data::LongUnsigned(1),
                Data::LongUnsigned(2),
            ]),
        };
        let Data::Array(rows) = get(&mut m, 7, LOAD_PROFILE, 2, Some(by_entry)).unwrap() else {
            panic!()
        };
        assert_eq!(rows.len(), 10);
        assert!(matches!(&rows[0], Data::Structure(c) if c.len() == 2));
        let dt = |h, mi| {
            let t = FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 21, h, mi, 0)
                .unwrap();
            Data::OctetString(CosemDateTime::from_chrono(&t, 0).to_bytes().to_vec())
        };
        let by_range = SelectiveAccess {
            selector: 1,
            parameters: Data::Structure(vec![
                Data::Null,
                dt(10, 0),
                dt(11, 0),
                Data::Array(vec![]),
            ]),
        };
        let Data::Array(rows) = get(&mut m, 7, LOAD_PROFILE, 2, Some(by_range)).unwrap() else {
            panic!()
        };
        assert_eq!(rows.len(), 5, "10:00, 10:15, 10:30, 10:45, 11:00");
    }
}
