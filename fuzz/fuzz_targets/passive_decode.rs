//! The passive decoder (`dlms::decode`): any bytes as one capture, with and without keys, and
//! the same bytes fed in pieces (segments and blocks kept between inputs); then a layout.
#![no_main]
use dlms_logger::dlms::decode::{decode_frame, Decoder, ItemLayout, Keys, Layout, ListLayout};
use dlms_logger::dlms::security::Key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let keys = Keys {
        block_key: Some(Key([0x11; 16])),
        ..Keys::default()
    };
    let _ = decode_frame(input, &Keys::default());
    if let Ok(mut d) = decode_frame(input, &keys) {
        let _ = d.tree.to_text();
        let layout = Layout {
            name: "fuzz".into(),
            lists: vec![ListLayout {
                name: "any".into(),
                positional: true,
                items: vec![ItemLayout { obis: None, name: "x".into(), scaler_unit: None }; d.values.len()],
            }],
        };
        let _ = layout.apply(&mut d.values);
    }
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let mut decoder = Decoder::new(keys);
    for chunk in data.chunks(usize::from(seed % 64) + 1) {
        let _ = decoder.feed(chunk);
    }
});
