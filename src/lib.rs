//! dlms-logger: a DLMS/COSEM (IEC 62056) data logger, client engine and meter simulator.
pub mod dlms;
