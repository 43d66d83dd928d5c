//! Where a meter is on its link: the interface and the client/server addresses, and the
//! client end of the link built from them.

use super::EngineError;
use crate::dlms::hdlc::{AddressSize, HdlcAddress, HdlcClient, HdlcParameters};
use crate::dlms::link::ClientLink;
use crate::dlms::wrapper::WrapperClient;

/// The framing used on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// IEC 62056-47 WRAPPER (TCP/UDP).
    #[default]
    Wrapper,
    /// IEC 62056-46 HDLC.
    Hdlc,
}

/// How to address a meter on its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterAddress {
    /// HDLC or WRAPPER.
    pub interface: Interface,
    /// Client SAP (16 = public client).
    pub client: u16,
    /// Physical device address (HDLC lower address).
    pub physical: u16,
    /// Logical device (HDLC upper address, WRAPPER destination wPort).
    pub logical: u16,
    /// HDLC server address size in bytes: 1, 2 or 4.
    pub address_size: u8,
    /// HDLC window we propose both ways (1..=7); the meter's UA decides.
    pub hdlc_window: u8,
}

impl Default for MeterAddress {
    fn default() -> Self {
        MeterAddress {
            interface: Interface::Wrapper,
            client: 16,
            physical: 1,
            logical: 1,
            address_size: 1,
            hdlc_window: 1,
        }
    }
}

/// The HDLC information field size we propose in the SNRM. The meter's UA answers with what it
/// accepts and the smaller wins, so proposing more than the 128-byte default costs nothing with
/// small meters and cuts the frames (each a round trip at window 1) eightfold with larger ones.
pub const PROPOSED_MAX_INFO: u16 = 1024;

/// Builds the client end of the link for an address.
pub fn client_link(addr: &MeterAddress) -> Result<ClientLink, EngineError> {
    Ok(match addr.interface {
        Interface::Wrapper => ClientLink::Wrapper(WrapperClient::new(addr.client, addr.logical)),
        Interface::Hdlc => {
            let size = AddressSize::try_from(addr.address_size)
                .map_err(|e| EngineError::Address(e.to_string()))?;
            let client = u8::try_from(addr.client)
                .ok()
                .filter(|c| *c <= 0x7F)
                .ok_or_else(|| {
                    EngineError::Address(format!(
                        "HDLC client address {} is out of range (0 to 127)",
                        addr.client
                    ))
                })?;
            let server = HdlcAddress {
                logical: addr.logical,
                physical: (size != AddressSize::One).then_some(addr.physical),
                size,
            };
            ClientLink::Hdlc(
                HdlcClient::new(
                    client,
                    server,
                    HdlcParameters {
                        window_tx: addr.hdlc_window.clamp(1, 7),
                        window_rx: addr.hdlc_window.clamp(1, 7),
                        ..HdlcParameters::with_max_info(PROPOSED_MAX_INFO)
                    },
                )
                .map_err(|e| EngineError::Address(e.to_string()))?,
            )
        }
    })
}
