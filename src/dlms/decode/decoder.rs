//! The decoder: captured bytes (HDLC frames, WRAPPER PDUs, M-Bus long frames or a bare APDU)
//! in, a named tree and the notification's values out. It keeps what spans inputs — HDLC
//! segments, M-Bus segments, general-block-transfer blocks — so frames read one at a time make
//! one notification.

use super::data::data_node;
use super::tree::Node;
use super::values::{into_values_with, Value};
use super::DecodeError;
use crate::dlms::axdr::{self, Reader};
use crate::dlms::compact_data::CompactTemplate;
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::hdlc::{self, Control};
use crate::dlms::mbus::{self, LongFrame};
use crate::dlms::security::{
    ciphered_header, decipher_unverified, is_ciphered, unprotect, Key, Policy, SystemTitle,
};
use crate::dlms::wrapper;
use crate::dlms::xdlms::apdu::ciphered_name;
use crate::dlms::xdlms::{Apdu, ApduError, DataNotification};

/// How deep APDUs may nest (a ciphered APDU in a block in a ciphered APDU …).
const MAX_NESTING: usize = 4;

/// General-Block-Transfer's APDU tag.
pub const GENERAL_BLOCK_TRANSFER: u8 = 0xE0;

/// The keys to decipher with; any may be missing. `Debug` never shows a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// The global unicast (block) key.
    pub block_key: Option<Key>,
    /// The authentication key: when given, the tag of an authenticated APDU is checked; when
    /// not, the APDU is deciphered with the block key alone and marked not verified.
    pub auth_key: Option<Key>,
    /// The dedicated key, for ded- and general-ded-ciphering.
    pub dedicated_key: Option<Key>,
    /// The sender's system title, for glo-/ded- APDUs that carry none; a general-ciphering
    /// APDU that carries another one is refused.
    pub system_title: Option<SystemTitle>,
}

/// The keys of one sender, named by its system title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleKeys {
    /// The sender's system title.
    pub system_title: SystemTitle,
    /// Its global unicast (block) key.
    pub block_key: Key,
    /// Its authentication key (the tag is checked when given).
    pub auth_key: Option<Key>,
}

impl Keys {
    /// The block key, authentication key and title to open an APDU whose header carries
    /// `carried` (general-ciphering) or none (glo-/ded-, which use the configured title);
    /// `by_title`: other senders' keys (see [`Decoder::set_title_keys`]).
    fn for_sender<'a>(
        &'a self,
        by_title: &'a [TitleKeys],
        carried: Option<SystemTitle>,
        dedicated: bool,
    ) -> Result<(&'a Key, Option<&'a Key>, SystemTitle), DecodeError> {
        if let Some(t) = carried.filter(|_| !dedicated) {
            if let Some(k) = by_title.iter().find(|k| k.system_title == t) {
                return Ok((&k.block_key, k.auth_key.as_ref(), t));
            }
            // Keys by title are given: one not among them is unknown unless it is the
            // meter's own (or the meter's keys name no title).
            let own = self.block_key.is_some() && self.system_title.is_none_or(|o| o == t);
            if !by_title.is_empty() && !own {
                return Err(DecodeError::NoKeyForTitle { title: t });
            }
        }
        let system_title = match (carried, self.system_title) {
            (Some(carried), Some(expected)) if carried != expected => {
                return Err(DecodeError::WrongSystemTitle { carried, expected })
            }
            (Some(t), _) | (None, Some(t)) => t,
            (None, None) => return Err(DecodeError::NoSystemTitle),
        };
        let key = if dedicated {
            self.dedicated_key.as_ref()
        } else {
            self.block_key.as_ref()
        }
        .ok_or(DecodeError::NoKey)?;
        Ok((key, self.auth_key.as_ref(), system_title))
    }
}

/// How a deciphered APDU was protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// The sender's system title (carried, or the one given).
    pub system_title: SystemTitle,
    /// The policy its security control byte showed.
    pub policy: Policy,
    /// The sender's invocation counter.
    pub invocation_counter: u32,
    /// Whether a GMAC tag was checked with the authentication key.
    pub verified: bool,
}

/// What one input decoded to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    /// Every field named, with its bytes.
    pub tree: Node,
    /// False when the input ended with segments or blocks of an APDU still to come.
    pub complete: bool,
    /// The values of the data-notifications completed by this input, in frame order.
    pub values: Vec<Value>,
    /// The date-time the (first) notification's header carries.
    pub date_time: Option<CosemDateTime>,
    /// The (first) notification's long-invoke-id-and-priority.
    pub long_invoke_id: Option<u32>,
    /// The (first) notification's body as it came (not kept by a values-only decoder).
    pub body: Option<Data>,
    /// How the APDU was ciphered, when it was.
    pub protection: Option<Protection>,
    /// The other APDUs completed (responses, requests), as one-line summaries.
    pub apdus: Vec<String>,
}

/// Decodes one complete capture: every frame, segment or block of its APDU must be in `bytes`.
pub fn decode_frame(bytes: &[u8], keys: &Keys) -> Result<Decoded, DecodeError> {
    complete(Decoder::new(keys.clone()), bytes)
}

/// As [`decode_frame`], without a node per element of the notification body: the fast path
/// for values.
pub fn decode_values(bytes: &[u8], keys: &Keys) -> Result<Decoded, DecodeError> {
    complete(Decoder::values_only(keys.clone()), bytes)
}

fn complete(mut d: Decoder, bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let out = d.feed(bytes)?;
    match d.waiting_for() {
        Some(what) => Err(DecodeError::Incomplete(what)),
        None => Ok(out),
    }
}

/// A decoder that keeps segments and blocks between inputs.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    keys: Keys,
    /// HDLC information fields joined so far (segmentation bit set).
    hdlc: Option<Vec<u8>>,
    /// M-Bus DLMS segments joined so far, and the next segment number.
    mbus: Option<(u8, Vec<u8>)>,
    /// General-block-transfer data joined so far, and the next block number.
    gbt: Option<(u16, Vec<u8>)>,
    /// Whether notification bodies get a node per element (off: values only, for speed).
    body_tree: bool,
    /// Keys of other senders by their system title.
    by_title: Vec<TitleKeys>,
    /// Compact data templates, to read compact buffers in notification bodies.
    compact: Vec<CompactTemplate>,
}

impl Decoder {
    /// A decoder with these keys.
    pub fn new(keys: Keys) -> Decoder {
        Decoder {
            keys,
            body_tree: true,
            ..Decoder::default()
        }
    }

    /// A decoder for values only: a notification body's elements get no nodes of their own
    /// (the frames and APDU headers still do). What a passive listener wants.
    pub fn values_only(keys: Keys) -> Decoder {
        Decoder {
            keys,
            ..Decoder::default()
        }
    }

    /// Keys of other senders by their system title (a data concentrator, or a bus that
    /// carries several meters): a general-ciphering APDU that carries one of these titles is
    /// opened with its keys; once these are given, one that carries a title neither here nor
    /// the meter's own (the keys' `system_title`, or any when that is not given and a block
    /// key is) is refused with [`DecodeError::NoKeyForTitle`].
    pub fn set_title_keys(&mut self, keys: Vec<TitleKeys>) {
        self.by_title = keys;
    }

    /// Compact data templates (class 62's template_id, template_description and capture
    /// objects): a compact buffer in a notification body whose first octet names one is read
    /// into its values (a buffer sent right after its description needs none).
    pub fn set_compact_templates(&mut self, templates: Vec<CompactTemplate>) {
        self.compact = templates;
    }

    /// What the decoder is waiting for, if an APDU is incomplete.
    pub fn waiting_for(&self) -> Option<&'static str> {
        if self.hdlc.is_some() {
            Some("more HDLC segments")
        } else if self.mbus.is_some() {
            Some("more M-Bus segments")
        } else if self.gbt.is_some() {
            Some("more general-block-transfer blocks")
        } else {
            None
        }
    }

    /// Forgets segments and blocks received so far.
    pub fn reset(&mut self) {
        self.hdlc = None;
        self.mbus = None;
        self.gbt = None;
    }

    /// Decodes the frames (or bare APDU) in `input`. On an error the pieces held so far are
    /// dropped, so a damaged frame never joins the next notification.
    pub fn feed(&mut self, input: &[u8]) -> Result<Decoded, DecodeError> {
        let r = self.feed_inner(input);
        if r.is_err() {
            self.reset();
        }
        r
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Decoded, DecodeError> {
        if input.is_empty() {
            return Err(DecodeError::Empty);
        }
        let mut out = Decoded {
            tree: Node::group("capture", &[], format!("{} bytes", input.len())),
            ..Decoded::default()
        };
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            match rest {
                [hdlc::frame::FLAG, ..] => {
                    if rest.iter().all(|&b| b == hdlc::frame::FLAG) {
                        break;
                    }
                    at += self.hdlc_frame(rest, at, &mut out)?;
                }
                [mbus::START, _, _, mbus::START, ..] => {
                    at += self.mbus_frame(rest, at, &mut out)?
                }
                [0x00, 0x01, ..] if rest.len() >= 8 => {
                    at += self.wrapper_pdu(rest, at, &mut out)?
                }
                _ => {
                    let node = self.apdu(rest, &mut out, 0)?;
                    out.tree.push(node);
                    break;
                }
            }
        }
        out.complete = self.waiting_for().is_none();
        Ok(out)
    }

    fn hdlc_frame(
        &mut self,
        rest: &[u8],
        at: usize,
        out: &mut Decoded,
    ) -> Result<usize, DecodeError> {
        let (frame, used) = match hdlc::decode(rest) {
            Ok(Some(f)) => f,
            Ok(None) => return Err(DecodeError::TruncatedHdlc { at }),
            Err(e) => {
                return Err(DecodeError::Hdlc {
                    at,
                    source: e.error,
                })
            }
        };
        // The frame's bytes, both flags included (leading extra flags skipped).
        let start = rest
            .iter()
            .position(|&b| b != hdlc::frame::FLAG)
            .unwrap_or(1)
            - 1;
        let raw = rest.get(start..=used).unwrap_or(rest);
        let mut node = hdlc_node(raw, &frame);
        let carries_apdu = matches!(frame.control, Control::I { .. } | Control::Ui { .. });
        if carries_apdu && !frame.info.is_empty() {
            let mut info = self.hdlc.take().unwrap_or_default();
            info.extend_from_slice(&frame.info);
            if frame.segmented {
                node.value.push_str(", more segments follow");
                self.hdlc = Some(info);
                out.tree.push(node);
            } else {
                out.tree.push(node);
                let apdu = self.apdu(&info, out, 0)?;
                out.tree.push(apdu);
            }
        } else {
            out.tree.push(node);
        }
        Ok(used)
    }

    fn mbus_frame(
        &mut self,
        rest: &[u8],
        at: usize,
        out: &mut Decoded,
    ) -> Result<usize, DecodeError> {
        let bad = |source| DecodeError::Mbus { at, source };
        let (frame, used) = LongFrame::decode(rest).map_err(bad)?;
        let (segment, data) = frame.dlms_segment().map_err(bad)?;
        let len = 3 + frame.user_data.len();
        let node = Node::group("M-Bus long frame", &[], format!("{used} bytes"))
            .with(Node::leaf("start", &rest[..4], format!("length {len}")))
            .with(Node::leaf(
                "C field",
                &rest[4..5],
                format!("0x{:02X}", frame.control),
            ))
            .with(Node::leaf(
                "A field",
                &rest[5..6],
                format!("address {}", frame.address),
            ))
            .with(Node::leaf(
                "CI field",
                &rest[6..7],
                format!(
                    "DLMS segment {}{}",
                    segment.sequence,
                    if segment.last {
                        ", the last"
                    } else {
                        ", more follow"
                    }
                ),
            ))
            .with(Node::leaf("STSAP", &rest[7..8], segment.stsap.to_string()))
            .with(Node::leaf("DTSAP", &rest[8..9], segment.dtsap.to_string()))
            .with(Node::leaf("APDU segment", data, ""))
            .with(Node::leaf("checksum and stop", &rest[used - 2..used], ""));
        out.tree.push(node);
        let (expected, mut joined) = self.mbus.take().unwrap_or((segment.sequence, Vec::new()));
        if segment.sequence != expected {
            return Err(DecodeError::SegmentOutOfOrder {
                at,
                expected,
                got: segment.sequence,
            });
        }
        joined.extend_from_slice(data);
        if segment.last {
            let apdu = self.apdu(&joined, out, 0)?;
            out.tree.push(apdu);
        } else {
            self.mbus = Some((segment.sequence.wrapping_add(1) & 0x0F, joined));
        }
        Ok(used)
    }

    fn wrapper_pdu(
        &mut self,
        rest: &[u8],
        at: usize,
        out: &mut Decoded,
    ) -> Result<usize, DecodeError> {
        let (header, apdu, used) = match wrapper::decode(rest) {
            Ok(Some(x)) => x,
            Ok(None) => {
                return Err(DecodeError::TruncatedWrapper {
                    at,
                    arrived: rest.len(),
                    needed: 8 + usize::from(u16::from_be_bytes([rest[6], rest[7]])),
                })
            }
            Err(source) => return Err(DecodeError::Wrapper { at, source }),
        };
        let node = Node::group("WRAPPER PDU", &[], format!("{used} bytes"))
            .with(Node::leaf(
                "version",
                &rest[0..2],
                header.version.to_string(),
            ))
            .with(Node::leaf(
                "source wPort",
                &rest[2..4],
                header.source.to_string(),
            ))
            .with(Node::leaf(
                "destination wPort",
                &rest[4..6],
                header.destination.to_string(),
            ))
            .with(Node::leaf("length", &rest[6..8], header.length.to_string()));
        out.tree.push(node);
        let apdu = self.apdu(&apdu, out, 0)?;
        out.tree.push(apdu);
        Ok(used)
    }

    /// The node of one APDU (an LLC header in front is shown and skipped).
    fn apdu(&mut self, bytes: &[u8], out: &mut Decoded, depth: usize) -> Result<Node, DecodeError> {
        if depth > MAX_NESTING {
            return Err(DecodeError::TooDeep(MAX_NESTING));
        }
        if let [0xE6, ssap @ (0xE6 | 0xE7), 0x00, apdu @ ..] = bytes {
            let llc = Node::leaf(
                "LLC",
                &bytes[..3],
                if *ssap == 0xE7 {
                    "server to client"
                } else {
                    "client to server"
                },
            );
            let mut node = self.apdu(apdu, out, depth)?;
            node.children.insert(0, llc);
            return Ok(node);
        }
        match bytes.first() {
            None => Err(DecodeError::Empty),
            Some(&DataNotification::TAG) => notification(bytes, out, self.body_tree, &self.compact),
            Some(&GENERAL_BLOCK_TRANSFER) => self.block(bytes, out, depth),
            Some(&tag) if is_ciphered(tag) => self.ciphered(bytes, out, depth),
            Some(&tag) => match Apdu::decode(bytes) {
                // A ciphered tag the security layer does not know is no APDU we can read.
                Ok(Apdu::Ciphered { .. }) => Err(DecodeError::UnknownApdu { tag }),
                Ok(apdu) => {
                    let summary = apdu.summary();
                    out.apdus.push(summary.clone());
                    let mut node = Node::group(apdu.name(), &bytes[..1], summary);
                    node.push(Node::leaf("body", &bytes[1..], ""));
                    node.children.extend(super::service::service_nodes(&apdu));
                    Ok(node)
                }
                Err(ApduError::UnknownTag(tag)) => Err(DecodeError::UnknownApdu { tag }),
                Err(e) => Err(DecodeError::BadApdu(e)),
            },
        }
    }

    fn block(
        &mut self,
        bytes: &[u8],
        out: &mut Decoded,
        depth: usize,
    ) -> Result<Node, DecodeError> {
        let bad = |source| DecodeError::Apdu {
            what: "general-block-transfer",
            source,
        };
        let mut r = Reader::new(bytes);
        r.u8("tag").map_err(bad)?;
        let control = r.u8("block-control").map_err(bad)?;
        let number = r.u16("block-number").map_err(bad)?;
        let ack = r.u16("block-number-ack").map_err(bad)?;
        let len_at = r.position();
        let len = r.length("block-data length").map_err(bad)?;
        let data_at = r.position();
        let data = r.bytes(len, "block-data").map_err(bad)?;
        r.finish("general-block-transfer").map_err(bad)?;
        let last = control & 0x80 != 0;
        let mut node = Node::group(
            "general-block-transfer",
            &bytes[..1],
            format!("block {number}"),
        )
        .with(Node::leaf(
            "block-control",
            &bytes[1..2],
            format!(
                "{}{}, window {}",
                if last {
                    "last block"
                } else {
                    "more blocks follow"
                },
                if control & 0x40 != 0 {
                    ", streaming"
                } else {
                    ""
                },
                control & 0x3F
            ),
        ))
        .with(Node::leaf("block-number", &bytes[2..4], number.to_string()))
        .with(Node::leaf(
            "block-number-ack",
            &bytes[4..6],
            ack.to_string(),
        ))
        .with(Node::leaf(
            "block-data length",
            &bytes[len_at..data_at],
            len.to_string(),
        ))
        .with(Node::leaf("block-data", data, ""));
        let (expected, mut joined) = match self.gbt.take() {
            // A new first block while others were awaited: the meter started over and the
            // blocks held are of a notification that will never be whole.
            Some((expected, _)) if number == 1 && expected != 1 => {
                node.push(Node::leaf(
                    "dropped",
                    &[],
                    format!("the blocks before block {expected} are dropped: the meter started a new APDU"),
                ));
                (number, Vec::new())
            }
            Some(held) => held,
            None => (number, Vec::new()),
        };
        if number != expected {
            return Err(DecodeError::BlockOutOfOrder {
                expected,
                got: number,
            });
        }
        joined.extend_from_slice(data);
        if last {
            let inner = self.apdu(&joined, out, depth + 1)?;
            node.push(
                Node::group("reassembled APDU", &[], format!("{} bytes", joined.len())).with(inner),
            );
        } else {
            self.gbt = Some((number.wrapping_add(1), joined));
        }
        Ok(node)
    }

    fn ciphered(
        &mut self,
        bytes: &[u8],
        out: &mut Decoded,
        depth: usize,
    ) -> Result<Node, DecodeError> {
        let bad = |source| DecodeError::Apdu {
            what: "ciphered APDU",
            source,
        };
        let tag = bytes[0];
        let header = ciphered_header(bytes).map_err(DecodeError::Decipher)?;
        let mut r = Reader::new(bytes);
        r.u8("tag").map_err(bad)?;
        let mut node = Node::group(
            ciphered_name(tag).unwrap_or("ciphered APDU"),
            &bytes[..1],
            if header.dedicated {
                "dedicated key"
            } else {
                "global key"
            },
        );
        if let Some(title) = header.system_title {
            let at = r.position();
            r.bytes(9, "system title").map_err(bad)?;
            node.push(Node::leaf(
                "system title",
                &bytes[at..at + 9],
                title_text(&title),
            ));
        }
        let len_at = r.position();
        let len = r.length("ciphered content length").map_err(bad)?;
        let body_at = r.position();
        let body = r.bytes(len, "ciphered content").map_err(bad)?;
        r.finish("ciphered APDU").map_err(bad)?;
        node.push(Node::leaf(
            "length",
            &bytes[len_at..body_at],
            len.to_string(),
        ));
        let mut b = Reader::new(body);
        let sc = b.u8("security control").map_err(bad)?;
        let ic = b.u32("invocation counter").map_err(bad)?;
        node.push(Node::leaf(
            "security control",
            &body[..1],
            security_control_text(sc),
        ));
        node.push(Node::leaf(
            "invocation counter",
            &body[1..5],
            ic.to_string(),
        ));
        let has_tag = sc & 0x10 != 0;
        let text = b.rest();
        match has_tag.then(|| text.len().checked_sub(12)).flatten() {
            Some(n) => {
                node.push(Node::leaf(
                    if sc & 0x20 != 0 {
                        "ciphered text"
                    } else {
                        "plain text"
                    },
                    &text[..n],
                    "",
                ));
                node.push(Node::leaf("authentication tag", &text[n..], ""));
            }
            None => node.push(Node::leaf("ciphered text", text, "")),
        }

        let (key, auth_key, system_title) =
            self.keys
                .for_sender(&self.by_title, header.system_title, header.dedicated)?;
        let (policy, invocation_counter, plain, verified) = match auth_key {
            Some(ak) => {
                let (p, ic, plain) =
                    unprotect(&system_title, key, ak, body).map_err(DecodeError::Decipher)?;
                (p, ic, plain, matches!(p, Policy::Auth | Policy::AuthEnc))
            }
            None => {
                let (p, ic, plain) =
                    decipher_unverified(&system_title, key, body).map_err(DecodeError::Decipher)?;
                (p, ic, plain, false)
            }
        };
        out.protection.get_or_insert(Protection {
            system_title,
            policy,
            invocation_counter,
            verified,
        });
        let inner = self.apdu(&plain, out, depth + 1).map_err(|e| match e {
            // Without a tag to check, a wrong key shows as bytes that are no APDU.
            DecodeError::UnknownApdu { .. }
            | DecodeError::Apdu { .. }
            | DecodeError::BadApdu(_)
                if !verified =>
            {
                DecodeError::Garbled {
                    tag: plain.first().copied().unwrap_or(0),
                }
            }
            e => e,
        })?;
        let how = match (verified, has_tag) {
            (true, _) => "tag verified with the authentication key",
            (false, true) => "tag NOT verified: no authentication key given",
            (false, false) => "encrypted only: no tag to verify",
        };
        node.push(Node::group("deciphered APDU", &[], how).with(inner));
        Ok(node)
    }
}

/// The node of a data-notification; its values go to `out`.
fn notification(
    bytes: &[u8],
    out: &mut Decoded,
    body_tree: bool,
    compact: &[CompactTemplate],
) -> Result<Node, DecodeError> {
    let bad = |source| DecodeError::Apdu {
        what: "data-notification",
        source,
    };
    let mut r = Reader::new(bytes);
    r.u8("tag").map_err(bad)?;
    let id = r.u32("long-invoke-id-and-priority").map_err(bad)?;
    let mut node = Node::group("data-notification", &bytes[..1], "").with(Node::leaf(
        "long-invoke-id-and-priority",
        &bytes[1..5],
        invoke_id_text(id),
    ));
    let dt_at = r.position();
    // The date-time: an A-XDR octet-string (length 0 or 12), which some meters send with the
    // octet-string type tag (09 0C) or as a date-time (19) in front.
    let date_time = match r.u8("date-time length").map_err(bad)? {
        0 => None,
        12 => Some(read_date_time(&mut r).map_err(bad)?),
        0x09 if r.peek() == Some(12) => {
            r.u8("date-time length").map_err(bad)?;
            Some(read_date_time(&mut r).map_err(bad)?)
        }
        0x19 => Some(read_date_time(&mut r).map_err(bad)?),
        n => {
            return Err(bad(axdr::DecodeError::Invalid {
                what: "date-time",
                at: dt_at,
                reason: format!("its length {n} is neither 0 nor 12"),
            }))
        }
    };
    node.push(Node::leaf(
        "date-time",
        &bytes[dt_at..r.position()],
        date_time.map_or_else(|| "not given".to_string(), |t| t.to_string()),
    ));
    let (body_node, body) = if body_tree {
        data_node(&mut r, "notification-body").map_err(bad)?
    } else {
        let at = r.position();
        let body = Data::decode(&mut r).map_err(bad)?;
        let node = Node::leaf(
            "notification-body",
            &bytes[at..r.position()],
            format!("{} (elements not shown)", body.type_name()),
        );
        (node, body)
    };
    r.finish("data-notification").map_err(bad)?;
    node.push(body_node);
    node.value = format!("{} bytes", bytes.len());
    if out.long_invoke_id.is_none() {
        out.long_invoke_id = Some(id);
        out.date_time = date_time;
    }
    if body_tree {
        out.values.extend(into_values_with(body.clone(), compact));
        out.body.get_or_insert(body);
    } else {
        out.values.extend(into_values_with(body, compact));
    }
    Ok(node)
}

fn read_date_time(r: &mut Reader) -> Result<CosemDateTime, axdr::DecodeError> {
    let at = r.position();
    let b = r.bytes(12, "date-time")?;
    CosemDateTime::from_octets(b).ok_or(axdr::DecodeError::Invalid {
        what: "date-time",
        at,
        reason: "not a COSEM date-time".into(),
    })
}

/// The tree of an HDLC frame from its raw bytes (flags included) and its decoded fields.
fn hdlc_node(raw: &[u8], frame: &hdlc::HdlcFrame) -> Node {
    // Addresses end at the first byte with its low bit set.
    let addr_end = |from: usize| {
        raw.iter()
            .skip(from)
            .position(|b| b & 1 == 1)
            .map_or(raw.len(), |p| from + p + 1)
    };
    let dest_end = addr_end(3).min(raw.len());
    let src_end = addr_end(dest_end).min(raw.len());
    let ctrl_end = (src_end + 1).min(raw.len());
    let info = !frame.info.is_empty();
    let hcs_end = if info {
        (ctrl_end + 2).min(raw.len())
    } else {
        ctrl_end
    };
    let fcs_at = raw.len().saturating_sub(3).max(hcs_end);
    let part = |a: usize, b: usize| raw.get(a..b).unwrap_or_default();
    let mut node = Node::group("HDLC frame", &[], format!("{}", frame.control))
        .with(Node::leaf("flag", part(0, 1), ""))
        .with(Node::leaf(
            "frame format",
            part(1, 3),
            format!(
                "type 3, {}length {}",
                if frame.segmented { "segmented, " } else { "" },
                raw.len().saturating_sub(2)
            ),
        ))
        .with(Node::leaf(
            "destination address",
            part(3, dest_end),
            frame.destination.to_string(),
        ))
        .with(Node::leaf(
            "source address",
            part(dest_end, src_end),
            frame.source.to_string(),
        ))
        .with(Node::leaf(
            "control",
            part(src_end, ctrl_end),
            frame.control.to_string(),
        ));
    if info {
        node.push(Node::leaf(
            "header check sequence",
            part(ctrl_end, hcs_end),
            "correct",
        ));
        node.push(Node::leaf(
            "information",
            part(hcs_end, fcs_at),
            format!("{} bytes", frame.info.len()),
        ));
    }
    node.push(Node::leaf(
        "frame check sequence",
        part(fcs_at, fcs_at + 2),
        "correct",
    ));
    node.push(Node::leaf("flag", part(fcs_at + 2, raw.len()), ""));
    node
}

fn title_text(t: &SystemTitle) -> String {
    // The first three bytes are the maker's FLAG id when they are letters.
    let maker: String = t.0[..3].iter().map(|&b| b as char).collect();
    if maker
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_lowercase())
    {
        format!("{t} (maker {maker})")
    } else {
        t.to_string()
    }
}

fn security_control_text(sc: u8) -> String {
    let what = match sc & 0x30 {
        0x30 => "authenticated and encrypted",
        0x20 => "encrypted",
        0x10 => "authenticated",
        _ => "neither authenticated nor encrypted",
    };
    format!(
        "0x{sc:02X}: {what}, suite {}{}{}",
        sc & 0x0F,
        if sc & 0x40 != 0 {
            ", broadcast key"
        } else {
            ""
        },
        if sc & 0x80 != 0 { ", compressed" } else { "" }
    )
}

fn invoke_id_text(id: u32) -> String {
    format!(
        "0x{id:08X}: invoke id {}, {}, {}",
        id & 0x00FF_FFFF,
        if id & 0x4000_0000 != 0 {
            "confirmed"
        } else {
            "unconfirmed"
        },
        if id & 0x8000_0000 != 0 {
            "high priority"
        } else {
            "normal priority"
        }
    )
}
