//! xDLMS services (IEC 62056-5-3): GET/SET/ACTION (LN), READ/WRITE (SN), errors, pushes,
//! and the [`Apdu`] dispatcher.
pub mod action;
pub mod apdu;
pub mod block;
pub(crate) mod codec;
pub mod dar;
pub mod descriptor;
pub mod error;
pub mod exception;
pub mod gbt;
pub mod gbt_window;
pub mod get;
pub mod notification;
pub mod read;
pub mod report;
pub mod service_error;
pub mod set;
pub mod write;

pub use action::{ActionRequest, ActionResponse};
pub use apdu::{summarize, Apdu};
pub use block::DataBlock;
pub use dar::DataAccessResult;
pub use descriptor::{AttributeDescriptor, MethodDescriptor, SelectiveAccess};
pub use error::ApduError;
pub use exception::ExceptionResponse;
pub use gbt::GeneralBlockTransfer;
pub use gbt_window::{GbtReceiver, GbtSender, Received};
pub use get::{encode_get_response_normal_raw, GetDataResult, GetRequest, GetResponse};
pub use notification::DataNotification;
pub use read::{
    encode_read_response_single_raw, ReadRequest, ReadResponse, ReadResult, VariableAccess,
};
pub use report::{EventNotificationRequest, InformationReportRequest};
pub use service_error::ConfirmedServiceError;
pub use set::{SetRequest, SetResponse};
pub use write::{UnconfirmedWriteRequest, WriteRequest, WriteResponse, WriteResult};
