//! The simulated meter's objects: clock, identification, registers whose values move with
//! time, an extended and a demand register, a 15-minute load profile, a disconnect control and
//! the association. What clients may change is in `meter/writable.rs`.

use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::obis::Obis;
use crate::dlms::server::{object_list_ln, object_list_sn, CosemServer, ObjectAccess};
use crate::dlms::unit::ScalerUnit;
use crate::dlms::xdlms::{
    AttributeDescriptor, DataAccessResult, MethodDescriptor, SelectiveAccess,
};
use chrono::{DateTime, FixedOffset, TimeZone};

mod profile;
mod writable;

pub use writable::{MeterState, SharedState};

/// Seconds between load profile entries, by default.
pub const CAPTURE_PERIOD: i64 = 900;
/// Rows the load profile keeps (30 days of 15-minute values).
pub const PROFILE_ENTRIES: u32 = 2880;
/// Values are computed from seconds since this instant (2025-01-01T00:00:00Z).
const EPOCH: i64 = 1_735_689_600;

/// Logical names of the simulated objects.
pub mod names {
    use crate::dlms::obis::Obis;
    /// Clock.
    pub const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);
    /// COSEM logical device name.
    pub const LDN: Obis = Obis::new(0, 0, 42, 0, 0, 255);
    /// Serial number.
    pub const SERIAL: Obis = Obis::new(0, 0, 96, 1, 0, 255);
    /// Active energy import (+A), Wh.
    pub const ENERGY_IMPORT: Obis = Obis::new(1, 0, 1, 8, 0, 255);
    /// Active energy export (−A), Wh.
    pub const ENERGY_EXPORT: Obis = Obis::new(1, 0, 2, 8, 0, 255);
    /// Voltage L1.
    pub const VOLTAGE_L1: Obis = Obis::new(1, 0, 32, 7, 0, 255);
    /// Current L1.
    pub const CURRENT_L1: Obis = Obis::new(1, 0, 31, 7, 0, 255);
    /// Active power L1 import.
    pub const POWER_L1: Obis = Obis::new(1, 0, 21, 7, 0, 255);
    /// Maximum demand import (extended register).
    pub const MAX_DEMAND: Obis = Obis::new(1, 0, 1, 6, 0, 255);
    /// Current average demand import (demand register).
    pub const DEMAND: Obis = Obis::new(1, 0, 1, 4, 0, 255);
    /// Load profile 1.
    pub const LOAD_PROFILE: Obis = Obis::new(1, 0, 99, 1, 0, 255);
    /// Current association.
    pub const ASSOCIATION: Obis = Obis::new(0, 0, 40, 0, 0, 255);
    /// Disconnect control (class 70).
    pub const DISCONNECT: Obis = Obis::new(0, 0, 96, 3, 10, 255);
    /// IEC HDLC setup (class 23).
    pub const HDLC_SETUP: Obis = Obis::new(0, 0, 22, 0, 0, 255);
    /// The meter's invocation (frame) counter.
    pub const INVOCATION_COUNTER: Obis = Obis::new(0, 0, 43, 1, 0, 255);
    /// Test objects (`simulate --test-objects`, manufacturer-specific codes): the largest
    /// long64-unsigned.
    pub const TEST_U64_MAX: Obis = Obis::new(0, 0, 96, 128, 0, 255);
    /// Test object: the smallest long64.
    pub const TEST_I64_MIN: Obis = Obis::new(0, 0, 96, 128, 1, 255);
    /// Test object: a register of 9,430,701 Wh, scaler 0.
    pub const TEST_ENERGY: Obis = Obis::new(1, 0, 1, 8, 128, 255);
    /// Test object: a register holding the float32 230.7 V.
    pub const TEST_FLOAT: Obis = Obis::new(1, 0, 32, 7, 128, 255);
    /// Test objects: 2026-11-21 12:07:30 +01:00 with clock status invalid (E = 0), doubtful
    /// (1), different clock base and invalid status (2); 2026-07-01 12:00:00 +02:00 with
    /// daylight saving (3).
    pub const TEST_TIMES: [Obis; 4] = [
        Obis::new(0, 0, 96, 129, 0, 255),
        Obis::new(0, 0, 96, 129, 1, 255),
        Obis::new(0, 0, 96, 129, 2, 255),
        Obis::new(0, 0, 96, 129, 3, 255),
    ];
}

use names::*;

/// One simulated meter; `now` is set by whoever serves it before each request.
#[derive(Debug, Clone)]
pub struct SimMeter {
    /// 0-based index when several meters are served; shifts values and the serial number.
    pub index: u32,
    /// Current time as the meter sees it.
    pub now: DateTime<FixedOffset>,
    /// The meter's own invocation counter, served at 0.0.43.1.0.255 when it ciphers.
    pub invocation_counter: Option<std::sync::Arc<std::sync::atomic::AtomicU32>>,
    /// HDLC inactivity timeout in seconds, served by the IEC HDLC setup object (HDLC meters only).
    pub hdlc_inactivity: Option<u16>,
    /// Seconds between load profile entries.
    pub capture_period: i64,
    /// Whether the profile buffer accepts selective access (by range and by entry).
    pub selective_access: bool,
    /// Entries the load profile holds (the newest ones, one per capture period).
    pub profile_entries: u32,
    /// Clock status of every date-time it sends: its clock and the profile's capture times
    /// (0 = all well; `simulate --clock-status`).
    pub clock_status: u8,
    /// Whether it also serves the test objects with edge values ([`names::TEST_U64_MAX`] …).
    pub test_objects: bool,
    /// What clients changed (clock, registers, profile, disconnect control), shared by every
    /// connection to this meter.
    pub state: SharedState,
    short_names: bool,
}

impl SimMeter {
    /// Meter number `index`; `short_names` chooses the association class (12 vs 15).
    pub fn new(index: u32, now: DateTime<FixedOffset>, short_names: bool) -> Self {
        SimMeter {
            index,
            now,
            invocation_counter: None,
            hdlc_inactivity: None,
            capture_period: CAPTURE_PERIOD,
            selective_access: true,
            profile_entries: PROFILE_ENTRIES,
            clock_status: 0,
            test_objects: false,
            state: SharedState::default(),
            short_names,
        }
    }

    /// The serial number (12345678 for the first meter).
    pub fn serial_number(&self) -> String {
        format!("{}", 12_345_678 + self.index)
    }

    fn secs(&self, t: &DateTime<FixedOffset>) -> i64 {
        (t.timestamp() - EPOCH).max(0)
    }

    /// Energy import in Wh at `t` as computed: grows 500 Wh per hour.
    fn energy_import_computed(&self, t: &DateTime<FixedOffset>) -> i64 {
        1_000_000 + self.index as i64 * 1000 + self.secs(t) * 500 / 3600
    }

    /// Energy export raw (scaler +1) as computed: grows 50 Wh per hour.
    fn energy_export_computed(&self, t: &DateTime<FixedOffset>) -> i64 {
        100_000 + self.index as i64 * 10 + self.secs(t) * 5 / 3600
    }

    /// Energy import in Wh at `t`, with what a client set or reset.
    fn energy_import(&self, t: &DateTime<FixedOffset>) -> u32 {
        self.offset_energy(ENERGY_IMPORT, self.energy_import_computed(t))
    }

    /// Energy export raw at `t`, with what a client set or reset.
    fn energy_export(&self, t: &DateTime<FixedOffset>) -> u32 {
        self.offset_energy(ENERGY_EXPORT, self.energy_export_computed(t))
    }

    fn wave(&self, period: f64, amplitude: f64) -> f64 {
        let t = self.secs(&self.now) as f64 + self.index as f64 * 7.0;
        amplitude * (t * std::f64::consts::TAU / period).sin()
    }

    fn voltage_raw(&self) -> u16 {
        (2300.0 + self.wave(300.0, 20.0)).round() as u16
    }

    fn power_w(&self) -> i32 {
        (2000.0 + self.wave(600.0, 300.0)).round() as i32
    }

    fn current_raw(&self) -> u16 {
        // I = P / U, scaler -2.
        (self.power_w() as f64 / (self.voltage_raw() as f64 / 10.0) * 100.0).round() as u16
    }

    fn datetime(&self, t: &DateTime<FixedOffset>) -> Data {
        Data::OctetString(
            CosemDateTime::from_chrono(t, self.clock_status)
                .to_bytes()
                .to_vec(),
        )
    }

    /// The value of a test object (attribute 2; registers also 3).
    fn test_object(&self, obis: Obis, attr: i8) -> Option<Data> {
        let time = |offset_h: i32, month, day, hour, minute, second, status| {
            let t = FixedOffset::east_opt(offset_h * 3600)?
                .with_ymd_and_hms(2026, month, day, hour, minute, second)
                .single()?;
            Some(Data::OctetString(
                CosemDateTime::from_chrono(&t, status).to_bytes().to_vec(),
            ))
        };
        let register = |value, scaler, unit| match attr {
            3 => ScalerUnit { scaler, unit }.to_data(),
            _ => value,
        };
        match obis {
            TEST_U64_MAX => Some(Data::Long64Unsigned(u64::MAX)),
            TEST_I64_MIN => Some(Data::Long64(i64::MIN)),
            TEST_ENERGY => Some(register(Data::DoubleLongUnsigned(9_430_701), 0, 30)),
            TEST_FLOAT => Some(register(Data::Float32(230.7), 0, 35)),
            o if o == TEST_TIMES[0] => time(1, 11, 21, 12, 7, 30, 0x01),
            o if o == TEST_TIMES[1] => time(1, 11, 21, 12, 7, 30, 0x02),
            o if o == TEST_TIMES[2] => time(1, 11, 21, 12, 7, 30, 0x0C),
            o if o == TEST_TIMES[3] => time(2, 7, 1, 12, 0, 0, 0x80),
            _ => None,
        }
    }

    fn register(&self, obis: Obis, attr: i8) -> Result<Data, DataAccessResult> {
        let (value, su) = match obis {
            ENERGY_IMPORT => (
                Data::DoubleLongUnsigned(self.energy_import(&self.now)),
                (0, 30),
            ),
            ENERGY_EXPORT => (
                Data::DoubleLongUnsigned(self.energy_export(&self.now)),
                (1, 30),
            ),
            VOLTAGE_L1 => (Data::LongUnsigned(self.voltage_raw()), (-1, 35)),
            CURRENT_L1 => (Data::LongUnsigned(self.current_raw()), (-2, 33)),
            POWER_L1 => (Data::DoubleLong(self.power_w()), (0, 27)),
            _ => return Err(DataAccessResult::ObjectUndefined),
        };
        match attr {
            2 => Ok(value),
            3 => Ok(ScalerUnit {
                scaler: su.0,
                unit: su.1,
            }
            .to_data()),
            _ => Err(DataAccessResult::ObjectUndefined),
        }
    }

    fn clock(&self, attr: i8) -> Result<Data, DataAccessResult> {
        let dev = -(self.now.offset().local_minus_utc() / 60) as i16;
        Ok(match attr {
            2 => self.datetime(&self.now),
            3 => Data::Long(-dev),
            4 => Data::Unsigned(self.clock_status),
            5 | 6 => Data::OctetString(vec![
                0xFF,
                0xFF,
                if attr == 5 { 3 } else { 10 },
                0xFE,
                7,
                2,
                0,
                0,
                0,
                0x80,
                0,
                0xFF,
            ]),
            7 => Data::Integer(60),
            8 => Data::Boolean(false),
            9 => Data::Enum(1),
            _ => return Err(DataAccessResult::ObjectUndefined),
        })
    }

    fn attribute_count(class_id: u16) -> u8 {
        match class_id {
            1 => 2,
            3 => 3,
            4 => 5,
            5 => 9,
            7 => 8,
            8 => 9,
            12 => 4,
            15 => 9,
            23 => 9,
            70 => 4,
            _ => 2,
        }
    }
}

impl SimMeter {
    /// The meter's objects in object-list order, built as they are looked at (a GET finds
    /// its object without building the whole list).
    fn object_entries(&self) -> impl Iterator<Item = ObjectListEntry> + '_ {
        let assoc_class = if self.short_names { 12 } else { 15 };
        let list: [(u16, u8, Obis); 13] = [
            (8, 0, CLOCK),
            (1, 0, LDN),
            (1, 0, SERIAL),
            (3, 0, ENERGY_IMPORT),
            (3, 0, ENERGY_EXPORT),
            (3, 0, VOLTAGE_L1),
            (3, 0, CURRENT_L1),
            (3, 0, POWER_L1),
            (4, 0, MAX_DEMAND),
            (5, 0, DEMAND),
            (7, 1, LOAD_PROFILE),
            (70, 0, DISCONNECT),
            (
                assoc_class,
                if self.short_names { 0 } else { 1 },
                ASSOCIATION,
            ),
        ];
        let counter = self
            .invocation_counter
            .is_some()
            .then_some((1u16, 0u8, INVOCATION_COUNTER));
        let hdlc = self
            .hdlc_inactivity
            .is_some()
            .then_some((23u16, 1u8, HDLC_SETUP));
        let tests = [
            (1, 0, TEST_U64_MAX),
            (1, 0, TEST_I64_MIN),
            (3, 0, TEST_ENERGY),
            (3, 0, TEST_FLOAT),
        ]
        .into_iter()
        .chain(TEST_TIMES.map(|o| (1, 0, o)))
        .filter(|_| self.test_objects);
        list.into_iter()
            .chain(counter)
            .chain(hdlc)
            .chain(tests)
            .enumerate()
            .map(|(i, (class_id, version, obis))| ObjectListEntry {
                class_id,
                version,
                obis,
                short_name: self.short_names.then(|| {
                    if obis == ASSOCIATION {
                        0xFA00
                    } else {
                        0x0100 + i as u16 * 0x60
                    }
                }),
                access: None,
            })
    }
}

impl CosemServer for SimMeter {
    fn objects(&self) -> Vec<ObjectListEntry> {
        self.object_entries().collect()
    }

    fn get(
        &mut self,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        let known = self.object_entries().find(|o| o.obis == a.instance);
        let Some(obj) = known else {
            return Err(DataAccessResult::ObjectUndefined);
        };
        if obj.class_id != a.class_id {
            return Err(DataAccessResult::ObjectClassInconsistent);
        }
        if a.attribute == 1 {
            return Ok(Data::OctetString(a.instance.0.to_vec()));
        }
        if a.attribute < 1 || a.attribute as u8 > Self::attribute_count(a.class_id) {
            return Err(DataAccessResult::ObjectUndefined);
        }
        if access.is_some() && !(a.class_id == 7 && a.attribute == 2) {
            return Err(DataAccessResult::OtherReason);
        }
        if let Some(v) = self.test_object(a.instance, a.attribute) {
            return Ok(v);
        }
        match (a.instance, a.attribute) {
            (CLOCK, n) => self.clock(n),
            (LDN, 2) => Ok(Data::OctetString(
                format!("DLG{:013}", self.index + 1).into_bytes(),
            )),
            (SERIAL, 2) => Ok(Data::VisibleString(self.serial_number().into_bytes())),
            (HDLC_SETUP, n) => Ok(match n {
                2 => Data::Enum(5), // 9600 baud
                3 | 4 => Data::Unsigned(1),
                5 | 6 => Data::LongUnsigned(128),
                7 => Data::LongUnsigned(25),
                8 => Data::LongUnsigned(self.hdlc_inactivity.unwrap_or(120)),
                _ => Data::LongUnsigned(0x10),
            }),
            (INVOCATION_COUNTER, 2) => Ok(Data::DoubleLongUnsigned(
                self.invocation_counter
                    .as_ref()
                    .map_or(0, |c| c.load(std::sync::atomic::Ordering::SeqCst)),
            )),
            (DISCONNECT, n) => self.disconnect_control(n),
            (MAX_DEMAND, n) => {
                // Reset within this period: nothing measured since, captured at the reset.
                let reset = self.reset_in_period(self.state().max_demand_reset);
                let peak = self
                    .now
                    .offset()
                    .timestamp_opt(reset.unwrap_or(self.last_capture()), 0)
                    .single()
                    .unwrap_or(self.now);
                match n {
                    2 if reset.is_some() => Ok(Data::DoubleLong(0)),
                    2 => Ok(Data::DoubleLong(2300 + self.index as i32)),
                    3 => Ok(ScalerUnit {
                        scaler: 0,
                        unit: 27,
                    }
                    .to_data()),
                    4 => Ok(Data::Unsigned(0)),
                    5 => Ok(self.datetime(&peak)),
                    _ => Err(DataAccessResult::ObjectUndefined),
                }
            }
            (DEMAND, n) => {
                let reset = self.reset_in_period(self.state().demand_reset);
                let start = self
                    .now
                    .offset()
                    .timestamp_opt(reset.unwrap_or(self.last_capture()), 0)
                    .single()
                    .unwrap_or(self.now);
                match n {
                    2 | 3 if reset.is_some() => Ok(Data::DoubleLong(0)),
                    2 => Ok(Data::DoubleLong(self.power_w())),
                    3 => Ok(Data::DoubleLong(2000 + self.index as i32)),
                    4 => Ok(ScalerUnit {
                        scaler: 0,
                        unit: 27,
                    }
                    .to_data()),
                    5 => Ok(Data::Unsigned(0)),
                    6 | 7 => Ok(self.datetime(&start)),
                    8 => Ok(Data::DoubleLongUnsigned(self.capture_period as u32)),
                    _ => Ok(Data::LongUnsigned(1)),
                }
            }
            (LOAD_PROFILE, n) => match n {
                2 => self.profile_buffer(access),
                3 => Ok(Self::capture_objects()),
                4 => Ok(Data::DoubleLongUnsigned(self.capture_period as u32)),
                5 => Ok(Data::Enum(1)),
                6 => Ok(Data::Structure(vec![
                    Data::LongUnsigned(0),
                    Data::OctetString(vec![0; 6]),
                    Data::Integer(0),
                    Data::LongUnsigned(0),
                ])),
                7 => Ok(Data::DoubleLongUnsigned(self.entries_in_use())),
                _ => Ok(Data::DoubleLongUnsigned(self.profile_entries)),
            },
            (ASSOCIATION, 2) => {
                let objects = self.objects();
                // The session serves each LN client its own rights; read alone, the list
                // shows the public client's.
                Ok(if self.short_names {
                    object_list_sn(&objects)
                } else {
                    object_list_ln(&objects, |o| self.rights(o).reads_only())
                })
            }
            (ASSOCIATION, _) => Err(DataAccessResult::ReadWriteDenied),
            (obis, n) => self.register(obis, n),
        }
    }

    fn access(&self, object: &ObjectListEntry) -> ObjectAccess {
        self.rights(object)
    }

    fn set(&mut self, a: &AttributeDescriptor, value: Data) -> Result<(), DataAccessResult> {
        self.write(a, value)
    }

    fn action(
        &mut self,
        m: &MethodDescriptor,
        parameter: Option<Data>,
    ) -> Result<Option<Data>, DataAccessResult> {
        self.call(m, parameter)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn meter() -> SimMeter {
        let now = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 21, 12, 7, 30)
            .unwrap();
        SimMeter::new(0, now, false)
    }

    pub(super) fn get(
        m: &mut SimMeter,
        class: u16,
        obis: Obis,
        attr: i8,
        access: Option<SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        m.get(
            &AttributeDescriptor {
                class_id: class,
                instance: obis,
                attribute: attr,
            },
            access.as_ref(),
        )
    }

    #[test]
    fn registers_move_with_time_and_carry_scaler_unit() {
        let mut m = meter();
        let a = get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap();
        m.now += chrono::Duration::hours(1);
        let b = get(&mut m, 3, ENERGY_IMPORT, 2, None).unwrap();
        assert_eq!(b.as_i128().unwrap() - a.as_i128().unwrap(), 500);
        assert_eq!(
            get(&mut m, 3, VOLTAGE_L1, 3, None).unwrap(),
            ScalerUnit {
                scaler: -1,
                unit: 35
            }
            .to_data()
        );
        assert_eq!(
            get(&mut m, 1, ENERGY_IMPORT, 2, None),
            Err(DataAccessResult::ObjectClassInconsistent)
        );
        assert_eq!(
            get(&mut m, 3, Obis::new(1, 1, 1, 1, 1, 1), 2, None),
            Err(DataAccessResult::ObjectUndefined)
        );
    }
}
