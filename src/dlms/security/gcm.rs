//! Security suite 0 ciphering of an xDLMS APDU body: AES-GCM-128 with a 12-byte tag.
//!
//! The body is `SC ‖ IC ‖ output`, the IV is the sender's system title ‖ IC, and the AAD and
//! output depend on the security control byte SC:
//!
//! | SC   | AAD                | output             |
//! |------|--------------------|--------------------|
//! | 0x30 | SC ‖ AK            | ciphertext ‖ tag   |
//! | 0x20 | none, tag dropped  | ciphertext         |
//! | 0x10 | SC ‖ AK ‖ plain    | plain ‖ tag (GMAC) |

use aes::Aes128;
use aes_gcm::aead::consts::U12;
use aes_gcm::{AeadInOut, AesGcm, KeyInit, Nonce, Tag};

use super::{Key, Policy, SecurityError, SystemTitle};
use crate::dlms::axdr::{DecodeError, Reader};

/// AES-128-GCM with a 96-bit IV and the 12-byte tag DLMS keeps.
type Gcm = AesGcm<Aes128, U12, U12>;

/// Length of the truncated GCM tag.
const TAG_LEN: usize = 12;

/// Protects (ciphers and/or authenticates) a plain xDLMS APDU: returns `SC ‖ IC ‖ ciphertext ‖ tag` (the part after the ciphered APDU's tag and length).
pub fn protect(
    policy: Policy,
    system_title: &SystemTitle,
    invocation_counter: u32,
    block_key: &Key,
    auth_key: &Key,
    plain: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let sc = policy.control_byte();
    let mut out = Vec::with_capacity(5 + plain.len() + TAG_LEN);
    out.push(sc);
    out.extend_from_slice(&invocation_counter.to_be_bytes());
    out.extend_from_slice(plain);
    let (cipher, nonce) = (cipher(block_key), nonce(system_title, invocation_counter));
    let too_long = |_| SecurityError::TooLong { len: plain.len() };
    let tag = match policy {
        Policy::None => return Err(SecurityError::NothingToProtect),
        Policy::Auth => cipher
            .encrypt_inout_detached(&nonce, &aad(sc, auth_key, plain), (&mut [][..]).into())
            .map_err(too_long)?,
        Policy::Enc => {
            // Encryption only: the tag is computed by GCM but not kept.
            cipher
                .encrypt_inout_detached(&nonce, &[], (&mut out[5..]).into())
                .map_err(too_long)?;
            return Ok(out);
        }
        Policy::AuthEnc => cipher
            .encrypt_inout_detached(&nonce, &aad(sc, auth_key, &[]), (&mut out[5..]).into())
            .map_err(too_long)?,
    };
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Verifies and deciphers `SC ‖ IC ‖ … ‖ tag` sent by `system_title`; returns (policy seen, invocation counter, plain APDU).
///
/// With SC 0x20 there is no tag, so a wrong key yields garbage rather than an error.
pub fn unprotect(
    system_title: &SystemTitle,
    block_key: &Key,
    auth_key: &Key,
    body: &[u8],
) -> Result<(Policy, u32, Vec<u8>), SecurityError> {
    let mut r = Reader::new(body);
    let sc = r.u8("security control byte")?;
    let policy = Policy::from_control_byte(sc)?;
    let ic = r.u32("invocation counter")?;
    let (cipher, nonce) = (cipher(block_key), nonce(system_title, ic));
    if policy == Policy::Enc {
        // CTR mode is its own inverse: "encrypting" the ciphertext yields the plain text.
        let mut plain = r.rest().to_vec();
        cipher
            .encrypt_inout_detached(&nonce, &[], (&mut plain[..]).into())
            .map_err(|_| SecurityError::TooLong { len: plain.len() })?;
        return Ok((policy, ic, plain));
    }
    let text_len = r
        .remaining()
        .checked_sub(TAG_LEN)
        .ok_or(DecodeError::Truncated {
            what: "authentication tag",
            at: r.position(),
            needed: TAG_LEN,
            available: r.remaining(),
        })?;
    let mut text = r.bytes(text_len, "ciphered text")?.to_vec();
    let tag = Tag::<U12>::try_from(r.rest()).map_err(|_| SecurityError::AuthenticationFailed)?;
    let verified = if policy == Policy::Auth {
        cipher.decrypt_inout_detached(
            &nonce,
            &aad(sc, auth_key, &text),
            (&mut [][..]).into(),
            &tag,
        )
    } else {
        cipher.decrypt_inout_detached(
            &nonce,
            &aad(sc, auth_key, &[]),
            (&mut text[..]).into(),
            &tag,
        )
    };
    verified.map_err(|_| SecurityError::AuthenticationFailed)?;
    Ok((policy, ic, text))
}

/// Deciphers `SC ‖ IC ‖ … ‖ tag` with the block key alone, without checking the tag: what a
/// reader of a HAN port does when the utility gave out only the block key. Returns (policy
/// seen, invocation counter, plain APDU); nothing vouches for the result, so a caller must say
/// so (with SC 0x10 the APDU is plain already and only its tag is dropped).
pub fn decipher_unverified(
    system_title: &SystemTitle,
    block_key: &Key,
    body: &[u8],
) -> Result<(Policy, u32, Vec<u8>), SecurityError> {
    let mut r = Reader::new(body);
    let sc = r.u8("security control byte")?;
    // Suites 0 to 2 share AES-GCM-128 for ciphering APDUs: only the A/E bits matter here.
    let policy = Policy::from_control_byte(sc & 0xB0)?;
    let ic = r.u32("invocation counter")?;
    let text_len = match policy {
        Policy::Enc | Policy::None => r.remaining(),
        Policy::Auth | Policy::AuthEnc => {
            r.remaining()
                .checked_sub(TAG_LEN)
                .ok_or(DecodeError::Truncated {
                    what: "authentication tag",
                    at: r.position(),
                    needed: TAG_LEN,
                    available: r.remaining(),
                })?
        }
    };
    let mut text = r.bytes(text_len, "ciphered text")?.to_vec();
    if policy != Policy::Auth {
        // GCM's keystream starts where its encryption does, so "encrypting" deciphers.
        cipher(block_key)
            .encrypt_inout_detached(&nonce(system_title, ic), &[], (&mut text[..]).into())
            .map_err(|_| SecurityError::TooLong { len: text.len() })?;
    }
    Ok((policy, ic, text))
}

/// The AES-GCM instance for a block key.
fn cipher(block_key: &Key) -> Gcm {
    Gcm::new(&block_key.0.into())
}

/// IV = sender system title ‖ invocation counter.
fn nonce(system_title: &SystemTitle, invocation_counter: u32) -> Nonce<U12> {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&system_title.0);
    iv[8..].copy_from_slice(&invocation_counter.to_be_bytes());
    iv.into()
}

/// AAD = SC ‖ AK ‖ `text` (`text` is the plain APDU for authentication only, else empty).
fn aad(sc: u8, auth_key: &Key, text: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(17 + text.len());
    aad.push(sc);
    aad.extend_from_slice(&auth_key.0);
    aad.extend_from_slice(text);
    aad
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::dlms::hdlc::frame::tests::hex;
    use proptest::prelude::*;

    /// Green Book block key EK (§9.5 C1).
    pub(crate) const EK: Key = Key([
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x0F,
    ]);
    /// Green Book authentication key AK.
    pub(crate) const AK: Key = Key([
        0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE,
        0xDF,
    ]);
    /// Green Book system title "MMM" + 12345678.
    pub(crate) const ST: SystemTitle =
        SystemTitle([0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E]);

    const PLAIN: &str = "C0 01 00 00 08 00 00 01 00 00 FF 02 00";

    /// C1: SC 30, 20 and 10 bodies (after `C8 len`).
    fn c1() -> [(Policy, Vec<u8>); 3] {
        [
            (
                Policy::AuthEnc,
                hex("30 01 23 45 67 41 13 12 FF 93 5A 47 56 68 27 C4 67 BC 7D 82 5C 3B E4 A7 7C 3F CC 05 6B 6B"),
            ),
            (Policy::Enc, hex("20 01 23 45 67 41 13 12 FF 93 5A 47 56 68 27 C4 67 BC")),
            (
                Policy::Auth,
                hex("10 01 23 45 67 C0 01 00 00 08 00 00 01 00 00 FF 02 00 06 72 5D 91 0F 92 21 D2 63 87 75 16"),
            ),
        ]
    }

    #[test]
    fn c1_protect_matches_green_book() {
        for (policy, body) in c1() {
            assert_eq!(
                protect(policy, &ST, 0x0123_4567, &EK, &AK, &hex(PLAIN)).unwrap(),
                body,
                "{policy:?}"
            );
        }
    }

    #[test]
    fn c1_unprotect_matches_green_book() {
        for (policy, body) in c1() {
            assert_eq!(
                unprotect(&ST, &EK, &AK, &body).unwrap(),
                (policy, 0x0123_4567, hex(PLAIN))
            );
        }
    }

    #[test]
    fn tampering_and_wrong_keys_fail_authentication() {
        let wrong = Key([0x55; 16]);
        for (policy, body) in c1() {
            if policy == Policy::Enc {
                continue; // no tag to check
            }
            for i in 1..body.len() {
                let mut bad = body.clone();
                bad[i] ^= 0x01;
                assert_eq!(
                    unprotect(&ST, &EK, &AK, &bad),
                    Err(SecurityError::AuthenticationFailed),
                    "{policy:?} byte {i}"
                );
            }
            assert_eq!(
                unprotect(&ST, &wrong, &AK, &body),
                Err(SecurityError::AuthenticationFailed)
            );
            assert_eq!(
                unprotect(&ST, &EK, &wrong, &body),
                Err(SecurityError::AuthenticationFailed)
            );
            let other_sender = SystemTitle([0x4D, 0x4D, 0x4D, 0, 0, 0, 0, 1]);
            assert_eq!(
                unprotect(&other_sender, &EK, &AK, &body),
                Err(SecurityError::AuthenticationFailed)
            );
        }
        assert_eq!(
            SecurityError::AuthenticationFailed.to_string(),
            "ciphered APDU authentication tag does not verify (wrong key or tampered data)"
        );
    }

    #[test]
    fn truncated_bodies_are_errors() {
        let body = &c1()[0].1;
        for n in 0..16 {
            let err = unprotect(&ST, &EK, &AK, &body[..n]).unwrap_err();
            assert!(matches!(err, SecurityError::Malformed(_)), "{n}: {err}");
        }
        let err = unprotect(&ST, &EK, &AK, &body[..10]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed ciphered APDU: truncated authentication tag at byte 5: needs 12 more byte(s), 5 left"
        );
    }

    #[test]
    fn policy_none_protects_nothing() {
        assert_eq!(
            protect(Policy::None, &ST, 1, &EK, &AK, b"x"),
            Err(SecurityError::NothingToProtect)
        );
    }

    proptest! {
        #[test]
        fn round_trip(
            policy in prop::sample::select(vec![Policy::Auth, Policy::Enc, Policy::AuthEnc]),
            st: [u8; 8], ic: u32, ek: [u8; 16], ak: [u8; 16],
            plain in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let (st, ek, ak) = (SystemTitle(st), Key(ek), Key(ak));
            let body = protect(policy, &st, ic, &ek, &ak, &plain).unwrap();
            prop_assert_eq!(unprotect(&st, &ek, &ak, &body).unwrap(), (policy, ic, plain));
        }

        #[test]
        fn unprotect_never_panics(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = unprotect(&ST, &EK, &AK, &body);
        }
    }
}
