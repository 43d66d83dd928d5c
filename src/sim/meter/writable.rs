//! What clients may change on a simulated meter, and the changes themselves: the clock (time
//! as an offset from the host's, time zone), the energy registers (value as an offset, reset),
//! the demand registers (reset), the load profile (reset, capture) and the disconnect control.
//! [`MeterState`] is shared by every connection to the meter and lives as long as the
//! simulator, so a change made in one association is read back in the next.

use super::names::*;
use super::SimMeter;
use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::server::{class_shape, AttributeAccess, ObjectAccess};
use crate::dlms::xdlms::{AttributeDescriptor, DataAccessResult, MethodDescriptor};
use chrono::{DateTime, Duration, FixedOffset};
use std::sync::{Arc, Mutex, MutexGuard};

/// What clients changed on one meter.
#[derive(Debug, Clone, Default)]
pub struct MeterState {
    /// Seconds the meter's clock runs ahead of the host's.
    pub clock_offset: i64,
    /// The time zone a client set (minutes east of UTC, as attribute 3 serves it).
    pub time_zone: Option<i16>,
    /// Added to the computed value of 1.0.1.8.0.255 (Wh).
    pub import_offset: i64,
    /// Added to the computed raw value of 1.0.2.8.0.255 (scaler +1).
    pub export_offset: i64,
    /// When the maximum demand was last reset (meter time, Unix seconds).
    pub max_demand_reset: Option<i64>,
    /// When the demand register was last reset.
    pub demand_reset: Option<i64>,
    /// When the load profile was last reset: rows captured before are gone.
    pub profile_reset: Option<i64>,
    /// Rows captured on demand (method 2): their time and the row.
    pub captured: Vec<(i64, Data)>,
    /// The disconnect control opened the supply (control_state 0, output_state false).
    pub disconnected: bool,
}

/// A meter's state, shared by its connections.
pub type SharedState = Arc<Mutex<MeterState>>;

/// Methods take `integer 0` (or nothing).
fn no_parameter(p: Option<&Data>) -> Result<(), DataAccessResult> {
    match p {
        None | Some(Data::Integer(0)) => Ok(()),
        Some(_) => Err(DataAccessResult::TypeUnmatched),
    }
}

impl SimMeter {
    pub(super) fn state(&self) -> MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the meter's time from the host's: its clock offset and time zone applied.
    pub fn set_host_time(&mut self, host: DateTime<FixedOffset>) {
        let (offset, zone) = {
            let s = self.state();
            (s.clock_offset, s.time_zone)
        };
        let t = host + Duration::seconds(offset);
        self.now = match zone.and_then(|z| FixedOffset::east_opt(i32::from(z) * 60)) {
            Some(z) => t.with_timezone(&z),
            None => t,
        };
    }

    /// The energy register `obis` with a client's offset applied.
    pub(super) fn offset_energy(&self, obis: Obis, computed: i64) -> u32 {
        let s = self.state();
        let offset = if obis == ENERGY_IMPORT {
            s.import_offset
        } else {
            s.export_offset
        };
        computed
            .saturating_add(offset)
            .clamp(0, i64::from(u32::MAX)) as u32
    }

    /// What an authenticated client may do with `o`.
    pub(super) fn rights(&self, o: &ObjectListEntry) -> ObjectAccess {
        let (_, methods) = class_shape(o.class_id);
        let mut r = ObjectAccess::read_only(Self::attribute_count(o.class_id), methods);
        let mut write = |a: usize| {
            if let Some(m) = r.attributes.get_mut(a - 1) {
                *m = AttributeAccess::ReadWrite;
            }
        };
        match o.obis {
            CLOCK => {
                write(2);
                write(3);
            }
            ENERGY_IMPORT | ENERGY_EXPORT => write(2),
            _ => {}
        }
        let callable: &[usize] = match o.obis {
            ENERGY_IMPORT | ENERGY_EXPORT | MAX_DEMAND | DEMAND => &[1],
            LOAD_PROFILE | DISCONNECT => &[1, 2],
            _ => &[],
        };
        for m in callable {
            if let Some(m) = r.methods.get_mut(m - 1) {
                *m = true;
            }
        }
        r
    }

    pub(super) fn write(
        &mut self,
        a: &AttributeDescriptor,
        value: Data,
    ) -> Result<(), DataAccessResult> {
        self.known(a.class_id, a.instance)?;
        match (a.instance, a.attribute) {
            (CLOCK, 2) => {
                let t = value
                    .as_date_time()
                    .ok_or(DataAccessResult::TypeUnmatched)?;
                // Every field must be given and valid (a wildcard cannot set a clock).
                let t = t.to_chrono().ok_or(DataAccessResult::OtherReason)?;
                let shift = t.timestamp() - self.now.timestamp();
                self.state().clock_offset += shift;
                self.now += Duration::seconds(shift);
                Ok(())
            }
            (CLOCK, 3) => {
                let Data::Long(z) = value else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let zone = FixedOffset::east_opt(i32::from(z) * 60)
                    .filter(|_| (-720..=840).contains(&z))
                    .ok_or(DataAccessResult::OtherReason)?;
                self.state().time_zone = Some(z);
                self.now = self.now.with_timezone(&zone);
                Ok(())
            }
            (ENERGY_IMPORT | ENERGY_EXPORT, 2) => {
                let v = value.as_i128().ok_or(DataAccessResult::TypeUnmatched)?;
                let v = i64::try_from(v)
                    .ok()
                    .filter(|v| (0..=i64::from(u32::MAX)).contains(v))
                    .ok_or(DataAccessResult::OtherReason)?;
                self.set_energy(a.instance, v);
                Ok(())
            }
            _ => Err(DataAccessResult::ReadWriteDenied),
        }
    }

    /// Sets an energy register's value now (its offset from the computed value).
    fn set_energy(&mut self, obis: Obis, value: i64) {
        let computed = if obis == ENERGY_IMPORT {
            self.energy_import_computed(&self.now)
        } else {
            self.energy_export_computed(&self.now)
        };
        let mut s = self.state();
        let offset = value - computed;
        if obis == ENERGY_IMPORT {
            s.import_offset = offset;
        } else {
            s.export_offset = offset;
        }
    }

    pub(super) fn call(
        &mut self,
        m: &MethodDescriptor,
        parameter: Option<Data>,
    ) -> Result<Option<Data>, DataAccessResult> {
        self.known(m.class_id, m.instance)?;
        let now = self.now.timestamp();
        match (m.instance, m.method) {
            (ENERGY_IMPORT | ENERGY_EXPORT, 1) => {
                no_parameter(parameter.as_ref())?;
                self.set_energy(m.instance, 0);
            }
            (MAX_DEMAND, 1) => {
                no_parameter(parameter.as_ref())?;
                self.state().max_demand_reset = Some(now);
            }
            (DEMAND, 1) => {
                no_parameter(parameter.as_ref())?;
                self.state().demand_reset = Some(now);
            }
            (LOAD_PROFILE, 1) => {
                no_parameter(parameter.as_ref())?;
                let mut s = self.state();
                s.profile_reset = Some(now);
                s.captured.clear();
            }
            (LOAD_PROFILE, 2) => {
                no_parameter(parameter.as_ref())?;
                let row = self.profile_row(now);
                let keep = self.profile_entries.max(1) as usize;
                let mut s = self.state();
                s.captured.push((now, row));
                let surplus = s.captured.len().saturating_sub(keep);
                s.captured.drain(..surplus);
            }
            // Control mode 1: a remote disconnect opens the supply from any state, a remote
            // reconnect closes it from disconnected (Blue Book class 70, transitions b, c, d).
            (DISCONNECT, 1) => {
                no_parameter(parameter.as_ref())?;
                self.state().disconnected = true;
            }
            (DISCONNECT, 2) => {
                no_parameter(parameter.as_ref())?;
                self.state().disconnected = false;
            }
            _ => return Err(DataAccessResult::ReadWriteDenied),
        }
        Ok(None)
    }

    /// The object `obis` exists with class `class_id`.
    fn known(&self, class_id: u16, obis: Obis) -> Result<(), DataAccessResult> {
        match self.object_entries().find(|o| o.obis == obis) {
            None => Err(DataAccessResult::ObjectUndefined),
            Some(o) if o.class_id != class_id => Err(DataAccessResult::ObjectClassInconsistent),
            Some(_) => Ok(()),
        }
    }

    /// The disconnect control's attributes.
    pub(super) fn disconnect_control(&self, attr: i8) -> Result<Data, DataAccessResult> {
        let open = self.state().disconnected;
        match attr {
            2 => Ok(Data::Boolean(!open)),
            3 => Ok(Data::Enum(u8::from(!open))),
            4 => Ok(Data::Enum(1)),
            _ => Err(DataAccessResult::ObjectUndefined),
        }
    }

    /// The start of the reset period, when `reset` happened within the current one.
    pub(super) fn reset_in_period(&self, reset: Option<i64>) -> Option<i64> {
        reset.filter(|r| *r >= self.last_capture())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{get, meter};
    use super::super::PROFILE_ENTRIES;
    use super::*;
    use crate::dlms::datetime::CosemDateTime;
    use crate::dlms::server::CosemServer;

    fn call(
        m: &mut SimMeter,
        class_id: u16,
        obis: Obis,
        method: i8,
    ) -> Result<(), DataAccessResult> {
        m.action(
            &MethodDescriptor {
                class_id,
                instance: obis,
                method,
            },
            Some(Data::Integer(0)),
        )
        .map(drop)
    }

    fn set(
        m: &mut SimMeter,
        class_id: u16,
        obis: Obis,
        attr: i8,
        v: Data,
    ) -> Result<(), DataAccessResult> {
        m.set(
            &AttributeDescriptor {
                class_id,
                instance: obis,
                attribute: attr,
            },
            v,
        )
    }

    #[test]
    fn clock_set_is_an_offset_that_persists_across_connections() {
        let mut m = meter();
        let host = m.now;
        let later = host + chrono::Duration::hours(1);
        let dt = |t: &DateTime<FixedOffset>| {
            Data::OctetString(CosemDateTime::from_chrono(t, 0).to_bytes().to_vec())
        };
        set(&mut m, 8, CLOCK, 2, dt(&later)).unwrap();
        assert_eq!(get(&mut m, 8, CLOCK, 2, None).unwrap(), dt(&later));
        // A second connection to the same meter shares its state; time has moved on by 10 s.
        let mut other = SimMeter::new(0, host, false);
        other.state = m.state.clone();
        other.set_host_time(host + chrono::Duration::seconds(10));
        assert_eq!(
            get(&mut other, 8, CLOCK, 2, None).unwrap(),
            dt(&(later + chrono::Duration::seconds(10)))
        );
        // Time zone: read back, and the time is given in it.
        set(&mut other, 8, CLOCK, 3, Data::Long(120)).unwrap();
        assert_eq!(get(&mut other, 8, CLOCK, 3, None).unwrap(), Data::Long(120));
        let Some(t) = get(&mut other, 8, CLOCK, 2, None)
            .unwrap()
            .as_date_time()
            .and_then(|t| t.to_chrono())
        else {
            panic!()
        };
        assert_eq!(t.offset().local_minus_utc(), 7200);
        assert_eq!(t.timestamp(), later.timestamp() + 10);
        // Wrong type, wildcard fields, out-of-range zone, read-only attribute.
        assert_eq!(
            set(&mut m, 8, CLOCK, 2, Data::DoubleLongUnsigned(1)),
            Err(DataAccessResult::TypeUnmatched)
        );
        let mut wild = CosemDateTime::from_chrono(&later, 0).to_bytes();
        wild[2] = 0xFF; // month not specified
        assert_eq!(
            set(&mut m, 8, CLOCK, 2, Data::OctetString(wild.to_vec())),
            Err(DataAccessResult::OtherReason)
        );
        assert_eq!(
            set(&mut m, 8, CLOCK, 3, Data::Long(2000)),
            Err(DataAccessResult::OtherReason)
        );
        assert_eq!(
            set(&mut m, 8, CLOCK, 4, Data::Unsigned(0)),
            Err(DataAccessResult::ReadWriteDenied)
        );
    }

    #[test]
    fn register_set_and_reset_count_on() {
        let mut m = meter();
        set(&mut m, 3, ENERGY_IMPORT, 2, Data::DoubleLongUnsigned(5)).unwrap();
        assert_eq!(
            get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap(),
            Data::DoubleLongUnsigned(5)
        );
        m.now += chrono::Duration::hours(2);
        assert_eq!(
            get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap(),
            Data::DoubleLongUnsigned(1005)
        );
        call(&mut m, 3, ENERGY_IMPORT, 1).unwrap();
        assert_eq!(
            get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap(),
            Data::DoubleLongUnsigned(0)
        );
        m.now += chrono::Duration::hours(1);
        assert_eq!(
            get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap(),
            Data::DoubleLongUnsigned(500)
        );
        assert_eq!(
            set(&mut m, 3, VOLTAGE_L1, 2, Data::LongUnsigned(1)),
            Err(DataAccessResult::ReadWriteDenied)
        );
        assert_eq!(
            call(&mut m, 3, VOLTAGE_L1, 1),
            Err(DataAccessResult::ReadWriteDenied)
        );
        assert_eq!(
            set(&mut m, 3, ENERGY_IMPORT, 2, Data::Boolean(true)),
            Err(DataAccessResult::TypeUnmatched)
        );
        assert_eq!(
            call(&mut m, 3, Obis::new(1, 2, 3, 4, 5, 6), 1),
            Err(DataAccessResult::ObjectUndefined)
        );
        // Demand registers: reset.
        call(&mut m, 4, MAX_DEMAND, 1).unwrap();
        assert_eq!(
            get(&mut m, 4, MAX_DEMAND, 2, None).unwrap(),
            Data::DoubleLong(0)
        );
        call(&mut m, 5, DEMAND, 1).unwrap();
        assert_eq!(
            get(&mut m, 5, DEMAND, 3, None).unwrap(),
            Data::DoubleLong(0)
        );
    }

    #[test]
    fn profile_reset_empties_and_capture_adds_a_row() {
        let mut m = meter();
        let rows = |m: &mut SimMeter| match get(m, 7, LOAD_PROFILE, 2, None).unwrap() {
            Data::Array(r) => r.len(),
            _ => panic!(),
        };
        assert_eq!(rows(&mut m), PROFILE_ENTRIES as usize);
        call(&mut m, 7, LOAD_PROFILE, 1).unwrap();
        assert_eq!(rows(&mut m), 0);
        assert_eq!(
            get(&mut m, 7, LOAD_PROFILE, 7, None).unwrap(),
            Data::DoubleLongUnsigned(0)
        );
        call(&mut m, 7, LOAD_PROFILE, 2).unwrap();
        assert_eq!(rows(&mut m), 1);
        // The next period's end adds its row after the captured one.
        m.now += chrono::Duration::minutes(15);
        assert_eq!(rows(&mut m), 2);
        let Data::Array(r) = get(&mut m, 7, LOAD_PROFILE, 2, None).unwrap() else {
            panic!()
        };
        let Data::Structure(first) = &r[0] else {
            panic!()
        };
        assert_eq!(
            first[0].to_string(),
            "2026-11-21T12:07:30+01:00",
            "captured now"
        );
    }

    #[test]
    fn disconnect_control_follows_mode_1() {
        let mut m = meter();
        let state = |m: &mut SimMeter| {
            (
                get(m, 70, DISCONNECT, 2, None).unwrap(),
                get(m, 70, DISCONNECT, 3, None).unwrap(),
            )
        };
        assert_eq!(state(&mut m), (Data::Boolean(true), Data::Enum(1)));
        assert_eq!(get(&mut m, 70, DISCONNECT, 4, None).unwrap(), Data::Enum(1));
        call(&mut m, 70, DISCONNECT, 1).unwrap();
        assert_eq!(state(&mut m), (Data::Boolean(false), Data::Enum(0)));
        call(&mut m, 70, DISCONNECT, 2).unwrap();
        assert_eq!(state(&mut m), (Data::Boolean(true), Data::Enum(1)));
        assert_eq!(
            m.action(
                &MethodDescriptor {
                    class_id: 70,
                    instance: DISCONNECT,
                    method: 1
                },
                Some(Data::OctetString(vec![]))
            ),
            Err(DataAccessResult::TypeUnmatched)
        );
        assert_eq!(
            call(&mut m, 70, DISCONNECT, 3),
            Err(DataAccessResult::ReadWriteDenied)
        );
        assert_eq!(
            set(&mut m, 70, DISCONNECT, 2, Data::Boolean(false)),
            Err(DataAccessResult::ReadWriteDenied)
        );
    }

    #[test]
    fn rights_say_what_is_writable() {
        let m = meter();
        let objects = m.objects();
        let of = |obis| {
            let o = objects.iter().find(|o| o.obis == obis).unwrap();
            m.access(o)
        };
        use crate::dlms::server::AttributeAccess::*;
        assert_eq!(of(CLOCK).attributes[1..3], [ReadWrite, ReadWrite]);
        assert_eq!(of(CLOCK).attributes[3], Read);
        assert_eq!(of(ENERGY_IMPORT).attributes, [Read, ReadWrite, Read]);
        assert_eq!(of(ENERGY_IMPORT).methods, [true]);
        assert_eq!(of(VOLTAGE_L1).attributes, [Read, Read, Read]);
        assert_eq!(of(VOLTAGE_L1).methods, [false]);
        assert_eq!(of(LOAD_PROFILE).methods, [true, true, false, false]);
        assert_eq!(of(DISCONNECT).methods, [true, true]);
        assert_eq!(of(DISCONNECT).attributes, [Read; 4]);
    }
}
