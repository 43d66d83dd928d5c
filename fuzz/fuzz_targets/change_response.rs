//! The meter's answers to a change (SET, ACTION, WRITE), fed to the client's `ChangeOp` the
//! way the engine does: a SET of a long value (block transfer) and an ACTION.
#![no_main]
use dlms_logger::dlms::xdlms::{ActionResponse, SetResponse, WriteResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SetResponse::decode(data);
    let _ = ActionResponse::decode(data);
    let _ = WriteResponse::decode(data);
});
