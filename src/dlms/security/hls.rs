//! HLS authentication (mechanisms 2 to 6): f(challenge) for passes 3 and 4 of the
//! association, and its verification.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{protect, Key, Policy, SecurityError, SystemTitle};
use crate::dlms::axdr::Reader;

/// HLS mechanisms 2..6.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HlsMechanism {
    /// 2, manufacturer specific: the widespread Gurux variant, AES-128-ECB of the challenge
    /// (zero-padded to whole 16-byte blocks) with the secret zero-padded to 16 bytes as key.
    Manufacturer,
    /// 3: MD5(challenge ‖ secret).
    Md5,
    /// 4: SHA-1(challenge ‖ secret).
    Sha1,
    /// 5: GMAC of the challenge with the block and authentication keys.
    Gmac,
    /// 6: SHA-256 over the secret, both system titles and both challenges (Gurux formula).
    Sha256,
}

/// What HLS-GMAC needs besides the challenge: the sender's title and counter and the keys.
#[derive(Clone, Copy, Debug)]
pub struct GmacParams<'a> {
    /// System title of the side that computes f(challenge) (the sender of the answer).
    pub system_title: &'a SystemTitle,
    /// Invocation counter of the sender; `hls_verify` takes it from the answer instead.
    pub invocation_counter: u32,
    /// Global unicast encryption key (EK).
    pub block_key: &'a Key,
    /// Authentication key (AK).
    pub auth_key: &'a Key,
}

/// What HLS-SHA256 needs besides the secret and the challenge, from the computing side's view.
#[derive(Clone, Copy, Debug)]
pub struct Sha256Params<'a> {
    /// System title of the side that computes f(challenge).
    pub own_title: &'a SystemTitle,
    /// System title of the other side.
    pub other_title: &'a SystemTitle,
    /// The challenge the computing side itself sent.
    pub own_challenge: &'a [u8],
}

/// f(challenge) for pass 3 (client, challenge = StoC) or pass 4 (server, challenge = CtoS).
///
/// * Manufacturer: AES-128-ECB(secret zero-padded to 16, challenge zero-padded to whole
///   16-byte blocks, each block ciphered on its own), as Gurux does; the secret is at most 16 bytes.
/// * MD5 / SHA-1: H(challenge ‖ secret).
/// * GMAC: `SC(0x10) ‖ IC ‖ tag(12)`, the tag being the GMAC of `SC ‖ AK ‖ challenge` under
///   EK with IV = sender system title ‖ IC; `secret` is not used.
/// * SHA-256: SHA256(secret ‖ own title ‖ other title ‖ challenge ‖ own challenge), the
///   Gurux formula; no second source confirms it (the notes mark it unverified).
pub fn hls_response(
    mech: HlsMechanism,
    secret: &[u8],
    challenge: &[u8],
    gmac: Option<GmacParams<'_>>,
    sha256: Option<Sha256Params<'_>>,
) -> Result<Vec<u8>, SecurityError> {
    Ok(match mech {
        HlsMechanism::Manufacturer => aes_ecb(secret, challenge)?,
        HlsMechanism::Md5 => Md5::new()
            .chain_update(challenge)
            .chain_update(secret)
            .finalize()
            .to_vec(),
        HlsMechanism::Sha1 => Sha1::new()
            .chain_update(challenge)
            .chain_update(secret)
            .finalize()
            .to_vec(),
        HlsMechanism::Sha256 => {
            let p = sha256.ok_or(SecurityError::MissingHlsParams(
                "HLS-SHA256 needs both system titles and our own challenge",
            ))?;
            Sha256::new()
                .chain_update(secret)
                .chain_update(p.own_title.0)
                .chain_update(p.other_title.0)
                .chain_update(challenge)
                .chain_update(p.own_challenge)
                .finalize()
                .to_vec()
        }
        HlsMechanism::Gmac => {
            let p = gmac.ok_or(SecurityError::MissingHlsParams(
                "HLS-GMAC needs the sender system title, invocation counter and keys",
            ))?;
            // Authentication only protects SC ‖ IC ‖ challenge ‖ tag; f() drops the challenge.
            let mut out = protect(
                Policy::Auth,
                p.system_title,
                p.invocation_counter,
                p.block_key,
                p.auth_key,
                challenge,
            )?;
            out.drain(5..5 + challenge.len());
            out
        }
    })
}

/// Verifies the peer's f(challenge) to the `challenge` we sent (constant-time compare); for GMAC returns the invocation counter the answer carried (check it with a `CounterGuard`).
///
/// `gmac` holds the peer's system title; `sha256` is from the peer's view (own title = the
/// peer's, own challenge = the peer's challenge).
pub fn hls_verify(
    mech: HlsMechanism,
    secret: &[u8],
    challenge: &[u8],
    answer: &[u8],
    gmac: Option<GmacParams<'_>>,
    sha256: Option<Sha256Params<'_>>,
) -> Result<Option<u32>, SecurityError> {
    let (gmac, ic) = match (mech, gmac) {
        (HlsMechanism::Gmac, Some(p)) => {
            let mut r = Reader::new(answer);
            r.u8("HLS-GMAC security control byte")?;
            let ic = r.u32("HLS-GMAC invocation counter")?;
            (
                Some(GmacParams {
                    invocation_counter: ic,
                    ..p
                }),
                Some(ic),
            )
        }
        (_, gmac) => (gmac, None),
    };
    let expected = hls_response(mech, secret, challenge, gmac, sha256)?;
    if bool::from(expected.ct_eq(answer)) {
        Ok(ic)
    } else {
        Err(SecurityError::HlsMismatch)
    }
}

/// Mechanism 2: AES-128-ECB of the zero-padded challenge under the zero-padded secret.
fn aes_ecb(secret: &[u8], challenge: &[u8]) -> Result<Vec<u8>, SecurityError> {
    let mut key = [0u8; 16];
    key.get_mut(..secret.len())
        .ok_or(SecurityError::SecretTooLong { len: secret.len() })?
        .copy_from_slice(secret);
    let cipher = Aes128::new(&key.into());
    let mut data = challenge.to_vec();
    data.resize(challenge.len().max(1).div_ceil(16) * 16, 0);
    for block in data.as_chunks_mut::<16>().0 {
        cipher.encrypt_block(block.into());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::super::gcm::tests::{AK, EK, ST};
    use super::*;
    use crate::dlms::hdlc::frame::tests::hex;

    const STOC: &str = "503677524A323146";

    fn response(mech: HlsMechanism, secret: &[u8], challenge: &str) -> Vec<u8> {
        hls_response(mech, secret, &hex(challenge), None, None).unwrap()
    }

    #[test]
    fn notes_cross_check_values() {
        assert_eq!(
            response(HlsMechanism::Md5, b"12345678", STOC),
            hex("53D4537E37DAB4FF089629E25557AF9F")
        );
        assert_eq!(
            response(HlsMechanism::Sha1, b"12345678", STOC),
            hex("6DBD949D1B1EFDD6FE5F9EA627877E986E8708CB")
        );
        assert_eq!(
            response(HlsMechanism::Manufacturer, b"12345678", STOC),
            hex("581B1129EE22C77FE02AEB1798C158B9")
        );
    }

    #[test]
    fn md5_real_gurux_session() {
        // hdlc_ln_md5.txt: secret "Gurux", CtoS in the AARQ, StoC in the AARE.
        let ctos = "F0B5B31B9AF7BD9E9A35C39ED7471E54";
        let stoc = "A5BD85BBCFD6E223773F82A3F216D5B4";
        assert_eq!(
            response(HlsMechanism::Md5, b"Gurux", stoc),
            hex("94510B865B2FF659F87D71FD7C64F6FC")
        );
        let answer = hex("4D3931F43F957155EEFFCD75406062B3");
        assert_eq!(
            hls_verify(HlsMechanism::Md5, b"Gurux", &hex(ctos), &answer, None, None),
            Ok(None)
        );
        assert_eq!(
            hls_verify(HlsMechanism::Md5, b"gurux", &hex(ctos), &answer, None, None),
            Err(SecurityError::HlsMismatch)
        );
        assert_eq!(
            hls_verify(
                HlsMechanism::Md5,
                b"Gurux",
                &hex(ctos),
                &answer[..15],
                None,
                None
            ),
            Err(SecurityError::HlsMismatch)
        );
    }

    #[test]
    fn manufacturer_pads_long_challenges_to_blocks() {
        // 17 bytes → two ECB blocks, the second zero-padded (matches GX GXSecure.secure).
        let out = response(
            HlsMechanism::Manufacturer,
            b"12345678",
            "503677524A32314650367752 4A32314611",
        );
        assert_eq!(out.len(), 32);
        assert_eq!(
            out[..16],
            response(
                HlsMechanism::Manufacturer,
                b"12345678",
                "503677524A323146503677524A323146"
            )[..]
        );
        assert_eq!(response(HlsMechanism::Manufacturer, b"", "").len(), 16);
        let err = hls_response(HlsMechanism::Manufacturer, &[0; 17], b"x", None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "HLS mechanism 2 secret is 17 bytes, at most 16 allowed"
        );
    }

    #[test]
    fn c7_gmac_both_ways_and_g7_action_payloads() {
        let client = SystemTitle([0x4D, 0x4D, 0x4D, 0, 0, 0, 0, 1]);
        let client_params = GmacParams {
            system_title: &client,
            invocation_counter: 1,
            block_key: &EK,
            auth_key: &AK,
        };
        let server_params = GmacParams {
            system_title: &ST,
            invocation_counter: 0x0123_4567,
            block_key: &EK,
            auth_key: &AK,
        };
        let (stoc, ctos) = (hex(STOC), hex("4B35366956616759"));

        let f_stoc =
            hls_response(HlsMechanism::Gmac, b"", &stoc, Some(client_params), None).unwrap();
        assert_eq!(f_stoc, hex("10 00000001 1A52FE7DD3E72748973C1E28"));
        let f_ctos =
            hls_response(HlsMechanism::Gmac, b"", &ctos, Some(server_params), None).unwrap();
        assert_eq!(f_ctos, hex("10 01234567 FE1466AFB3DBCD4F9389E2B7"));

        // G7: the ACTION request/response end in `09 11` ‖ f().
        let action = hex("C3 01 C1 00 0F 00 00 28 00 00 FF 01 01 09 11 10 00 00 00 01 1A 52 FE 7D D3 E7 27 48 97 3C 1E 28");
        let reply =
            hex("C7 01 C1 00 01 00 09 11 10 01 23 45 67 FE 14 66 AF B3 DB CD 4F 93 89 E2 B7");
        assert_eq!(action[15..], f_stoc[..]);
        assert_eq!(reply[8..], f_ctos[..]);

        // Each side verifies the other's answer with the other's system title; the counter
        // in the parameters is ignored (it comes from the answer).
        fn peer(p: GmacParams<'_>) -> Option<GmacParams<'_>> {
            Some(GmacParams {
                invocation_counter: 0,
                ..p
            })
        }
        assert_eq!(
            hls_verify(
                HlsMechanism::Gmac,
                b"",
                &ctos,
                &reply[8..],
                peer(server_params),
                None
            ),
            Ok(Some(0x0123_4567))
        );
        assert_eq!(
            hls_verify(
                HlsMechanism::Gmac,
                b"",
                &stoc,
                &action[15..],
                peer(client_params),
                None
            ),
            Ok(Some(1))
        );
        assert_eq!(
            hls_verify(
                HlsMechanism::Gmac,
                b"",
                &ctos,
                &reply[8..],
                peer(client_params),
                None
            ),
            Err(SecurityError::HlsMismatch)
        );
        let mut tampered = f_ctos.clone();
        tampered[0] = 0x30;
        assert_eq!(
            hls_verify(
                HlsMechanism::Gmac,
                b"",
                &ctos,
                &tampered,
                Some(server_params),
                None
            ),
            Err(SecurityError::HlsMismatch)
        );
        assert!(matches!(
            hls_verify(
                HlsMechanism::Gmac,
                b"",
                &ctos,
                &f_ctos[..3],
                Some(server_params),
                None
            ),
            Err(SecurityError::Malformed(_))
        ));
        assert!(matches!(
            hls_response(HlsMechanism::Gmac, b"", &ctos, None, None),
            Err(SecurityError::MissingHlsParams(_))
        ));
    }

    #[test]
    fn sha256_follows_the_gurux_formula_both_ways() {
        // Unverified against a second source; the Gurux peer meter is known broken for it.
        let client = SystemTitle(*b"ABCDEFGH");
        let (stoc, ctos) = (hex(STOC), hex("4B35366956616759"));
        let client_view = Sha256Params {
            own_title: &client,
            other_title: &ST,
            own_challenge: &ctos,
        };
        let f_stoc = hls_response(
            HlsMechanism::Sha256,
            b"Gurux",
            &stoc,
            None,
            Some(client_view),
        )
        .unwrap();
        let mut input = b"Gurux".to_vec();
        input.extend_from_slice(&client.0);
        input.extend_from_slice(&ST.0);
        input.extend_from_slice(&stoc);
        input.extend_from_slice(&ctos);
        assert_eq!(f_stoc, Sha256::digest(&input).to_vec());
        // The server computes f(CtoS) from its own view; the client verifies it from that view.
        let server_view = Sha256Params {
            own_title: &ST,
            other_title: &client,
            own_challenge: &stoc,
        };
        let f_ctos = hls_response(
            HlsMechanism::Sha256,
            b"Gurux",
            &ctos,
            None,
            Some(server_view),
        )
        .unwrap();
        assert_eq!(
            hls_verify(
                HlsMechanism::Sha256,
                b"Gurux",
                &ctos,
                &f_ctos,
                None,
                Some(server_view)
            ),
            Ok(None)
        );
        assert_eq!(
            hls_verify(
                HlsMechanism::Sha256,
                b"Gurux",
                &ctos,
                &f_ctos,
                None,
                Some(client_view)
            ),
            Err(SecurityError::HlsMismatch)
        );
    }
}
