//! The passive decoder (`dlms::decode`): any bytes as one capture, with and without keys, and
//! the same bytes fed in pieces (segments and blocks kept between inputs), with keys by system
//! title and compact data templates; then a layout. Pushes joined from blocks too.
#![no_main]
use dlms_logger::dlms::compact_data::CompactTemplate;
use dlms_logger::dlms::decode::{
    decode_frame, Decoder, ItemLayout, Keys, Layout, ListLayout, TitleKeys,
};
use dlms_logger::dlms::security::{Key, SystemTitle};
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
    decoder.set_title_keys(vec![TitleKeys {
        system_title: SystemTitle(*b"KFM\x10\x20\0\0\x01"),
        block_key: Key([0x22; 16]),
        auth_key: None,
    }]);
    // A template from the input itself: any description the type parser takes.
    let templates: Vec<CompactTemplate> = data
        .get(..8)
        .and_then(|d| CompactTemplate::new(seed, d, Vec::new()).ok())
        .into_iter()
        .collect();
    decoder.set_compact_templates(templates);
    for chunk in data.chunks(usize::from(seed % 64) + 1) {
        let _ = decoder.feed(chunk);
    }
    let _ = dlms_logger::dlms::push::Push::parse(input);
});
