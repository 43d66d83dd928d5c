//! Ciphered APDUs (glo-/ded-/general-glo-/general-ded-ciphering) under fixed keys; what
//! deciphers is decoded as an xDLMS APDU.
#![no_main]
use dlms_logger::dlms::security::{decipher_apdu, Key, SystemTitle};
use dlms_logger::dlms::xdlms::Apdu;
use libfuzzer_sys::fuzz_target;

const TITLE: SystemTitle = SystemTitle(*b"MMM\x00\x00\x00\x00\x01");
const BLOCK: [u8; 16] = *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F";
const AUTH: [u8; 16] = *b"\xD0\xD1\xD2\xD3\xD4\xD5\xD6\xD7\xD8\xD9\xDA\xDB\xDC\xDD\xDE\xDF";
const DEDICATED: [u8; 16] = [0x55; 16];

fuzz_target!(|data: &[u8]| {
    let key_for = |dedicated: bool| Some(Key(if dedicated { DEDICATED } else { BLOCK }));
    if let Ok(d) = decipher_apdu(data, &TITLE, key_for, &Key(AUTH)) {
        let _ = Apdu::decode(&d.plain);
    }
    // Without a dedicated key.
    let no_ded = |dedicated: bool| (!dedicated).then_some(Key(BLOCK));
    let _ = decipher_apdu(data, &TITLE, no_ded, &Key(AUTH));
});
