//! A meter that only talks (a HAN/P1 port): the bytes of its link in, its notifications'
//! values out as rows of the items configured for it. Nothing is ever sent. Frames that do
//! not decode (a bad FCS, a wrong key, a body cut short) are counted and reported, never
//! stored as readings.

use super::read::{blank, row};
use super::value::fill;
use crate::dlms::client::Reading as DlmsReading;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::decode::{Decoder, Keys, Layout, TitleKeys, Value};
use crate::dlms::frames::FrameSplitter;
use crate::dlms::obis::Obis;
use crate::dlms::security::{Key, SystemTitle};
use crate::queue::han::HanPresetError;
use crate::queue::{Config, Meter};
use crate::store::Record;

/// The clock, whose value in a list stands for the notification's time when the header has none.
const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);

/// What a passive link has brought so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassiveStats {
    /// Frames cut from the stream.
    pub frames: u64,
    /// Notifications decoded whole.
    pub notifications: u64,
    /// Frames that did not decode.
    pub bad: u64,
    /// Bytes that started no frame (line noise, a port opened mid-frame).
    pub skipped: u64,
    /// Why the last bad frame was bad.
    pub last_bad: Option<String>,
}

/// One thing heard on the link.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// A frame, with a one-line account of it (for the trace).
    Frame {
        /// Its bytes.
        bytes: Vec<u8>,
        /// What it was, or why it did not decode.
        summary: String,
    },
    /// A notification decoded whole.
    Notification(Notification),
}

/// A notification's values and the meter's time of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The values in frame order, named by the layout when one applies.
    pub values: Vec<Value>,
    /// The time the meter gave it (its header, else a clock value in the list).
    pub meter_time: Option<CosemDateTime>,
    /// The sender, when the link carries several and keys were picked by its system title
    /// (`security.keys`): its rows are the meter's name and this title (`name:TITLE`).
    pub sender: Option<SystemTitle>,
}

/// The decoding state of one passive meter.
#[derive(Debug)]
pub struct PassiveMeter {
    splitter: FrameSplitter,
    decoder: Decoder,
    layout: Option<Layout>,
    /// The other senders whose keys are given by system title.
    senders: Vec<SystemTitle>,
    /// What came so far.
    pub stats: PassiveStats,
}

impl PassiveMeter {
    /// Decodes with `meter`'s keys (`security`) and its HAN layout (`han_preset`).
    pub fn new(meter: &Meter) -> Result<Self, HanPresetError> {
        let s = &meter.security;
        let keys = Keys {
            block_key: s.block_key.as_ref().map(|k| Key(k.expose())),
            auth_key: s.auth_key.as_ref().map(|k| Key(k.expose())),
            dedicated_key: s.dedicated_key.as_ref().map(|k| Key(k.expose())),
            system_title: s.server_system_title.map(SystemTitle),
        };
        let layout = match &meter.han_preset {
            Some(name) => Some(crate::queue::han::load(name)?.layout),
            None => None,
        };
        let mut passive = PassiveMeter::with(keys, layout);
        passive.decoder.set_title_keys(
            s.keys
                .iter()
                .map(|k| TitleKeys {
                    system_title: SystemTitle(k.system_title),
                    block_key: Key(k.block_key.expose()),
                    auth_key: k.auth_key.as_ref().map(|a| Key(a.expose())),
                })
                .collect(),
        );
        passive.senders = s.keys.iter().map(|k| SystemTitle(k.system_title)).collect();
        Ok(passive)
    }

    /// Decodes with `keys`, naming values by `layout` when given.
    pub fn with(keys: Keys, layout: Option<Layout>) -> Self {
        PassiveMeter {
            splitter: FrameSplitter::new(),
            decoder: Decoder::values_only(keys),
            layout,
            senders: Vec::new(),
            stats: PassiveStats::default(),
        }
    }

    /// Takes bytes as they came off the link; returns the frames and notifications they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Heard> {
        let mut out = Vec::new();
        for frame in self.splitter.push(bytes) {
            self.stats.frames += 1;
            match self.decoder.feed(&frame) {
                Ok(d) => {
                    let summary = if !d.complete {
                        "a part of a notification (more to come)".to_string()
                    } else if d.values.is_empty() && d.apdus.is_empty() {
                        "a frame without a notification".to_string()
                    } else if d.values.is_empty() {
                        d.apdus.join("; ")
                    } else {
                        format!("DataNotification with {} values", d.values.len())
                    };
                    out.push(Heard::Frame {
                        bytes: frame,
                        summary,
                    });
                    if d.complete && !d.values.is_empty() {
                        self.stats.notifications += 1;
                        let mut values = d.values;
                        if let Some(layout) = &self.layout {
                            layout.apply(&mut values);
                        }
                        let meter_time = d.date_time.or_else(|| {
                            values
                                .iter()
                                .find(|v| v.obis == Some(CLOCK))
                                .and_then(Value::date_time)
                        });
                        let sender = d
                            .protection
                            .map(|p| p.system_title)
                            .filter(|t| self.senders.contains(t));
                        out.push(Heard::Notification(Notification {
                            values,
                            meter_time,
                            sender,
                        }));
                    }
                }
                Err(e) => {
                    self.stats.bad += 1;
                    self.stats.last_bad = Some(e.to_string());
                    out.push(Heard::Frame {
                        bytes: frame,
                        summary: format!("not decoded: {e}"),
                    });
                }
            }
        }
        self.stats.skipped = self.splitter.skipped();
        out
    }
}

/// The rows of a notification from `meter`: one per enabled item of its enabled requests whose
/// OBIS code (and class and attribute, when the notification says them) the notification
/// carries; or, when no request names the meter, one per value (request `passive`). Rows carry
/// the meter's time when it gave one, else `now_ms`.
pub fn notification_rows(
    config: &Config,
    meter: &Meter,
    n: &Notification,
    poll: i64,
    now_ms: i64,
) -> Vec<Record> {
    let ts_ms = n
        .meter_time
        .and_then(|t| t.to_chrono())
        .map_or(now_ms, |t| t.timestamp_millis());
    let meter_time = n.meter_time.map(|t| t.to_string());
    // A sender heard through keys by system title is told apart by its title.
    let meter_name = match n.sender {
        Some(t) => format!("{}:{t}", meter.name),
        None => meter.name.clone(),
    };
    let reading = |v: &Value| DlmsReading {
        data: v.data.clone(),
        scaler_unit: v.scaler_unit,
    };
    let requests: Vec<_> = config
        .requests
        .iter()
        .filter(|r| r.enabled && r.meters.contains(&meter.name))
        .collect();
    let mut out = Vec::new();
    if requests.is_empty() {
        for (i, v) in n.values.iter().enumerate() {
            let name = match (&v.name, v.obis) {
                (Some(name), _) => name.clone(),
                (None, Some(obis)) => obis.to_string(),
                (None, None) => format!("value[{i}]"),
            };
            let obis = v.obis.unwrap_or(Obis::new(0, 0, 0, 0, 0, 0));
            let mut item = crate::queue::Item::new(&name, obis);
            item.class_id = v.class_id.unwrap_or(item.class_id);
            item.attribute = v.attribute.unwrap_or(item.attribute);
            let base = Record {
                obis: v.obis.map(|o| o.to_string()).unwrap_or_default(),
                class: item.class_id,
                attribute: item.attribute,
                meter_time: meter_time.clone(),
                ..blank("passive", &meter_name, name, poll, ts_ms)
            };
            out.push(fill(base, &item, Ok(reading(v))));
        }
        return out;
    }
    for req in requests {
        for item in req.items.iter().filter(|i| i.enabled) {
            let found = n.values.iter().find(|v| {
                v.obis == Some(item.obis)
                    && v.attribute.is_none_or(|a| a == item.attribute)
                    && v.class_id.is_none_or(|c| c == item.class_id)
            });
            if let Some(v) = found {
                let base = Record {
                    meter: meter_name.clone(),
                    meter_time: meter_time.clone(),
                    ..row(req, meter, item, poll, ts_ms)
                };
                out.push(fill(base, item, Ok(reading(v))));
            }
        }
    }
    out
}
