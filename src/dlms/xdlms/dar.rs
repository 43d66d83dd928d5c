//! Data-Access-Result: the outcome of one attribute access (also used as Action-Result).

use std::fmt;

/// The result of reading, writing or invoking one COSEM item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataAccessResult {
    /// 0 success.
    Success,
    /// 1 hardware-fault.
    HardwareFault,
    /// 2 temporary-failure.
    TemporaryFailure,
    /// 3 read-write-denied.
    ReadWriteDenied,
    /// 4 object-undefined.
    ObjectUndefined,
    /// 9 object-class-inconsistent.
    ObjectClassInconsistent,
    /// 11 object-unavailable.
    ObjectUnavailable,
    /// 12 type-unmatched.
    TypeUnmatched,
    /// 13 scope-of-access-violated.
    ScopeOfAccessViolated,
    /// 14 data-block-unavailable.
    DataBlockUnavailable,
    /// 15 long-get-aborted (long-action-aborted in an Action-Result).
    LongGetAborted,
    /// 16 no-long-get-in-progress (no-long-action-in-progress in an Action-Result).
    NoLongGetInProgress,
    /// 17 long-set-aborted.
    LongSetAborted,
    /// 18 no-long-set-in-progress.
    NoLongSetInProgress,
    /// 19 data-block-number-invalid.
    DataBlockNumberInvalid,
    /// 250 other-reason.
    OtherReason,
    /// Any other code.
    Unknown(u8),
}

impl DataAccessResult {
    /// The result with this code.
    pub fn from_u8(v: u8) -> Self {
        use DataAccessResult::*;
        match v {
            0 => Success,
            1 => HardwareFault,
            2 => TemporaryFailure,
            3 => ReadWriteDenied,
            4 => ObjectUndefined,
            9 => ObjectClassInconsistent,
            11 => ObjectUnavailable,
            12 => TypeUnmatched,
            13 => ScopeOfAccessViolated,
            14 => DataBlockUnavailable,
            15 => LongGetAborted,
            16 => NoLongGetInProgress,
            17 => LongSetAborted,
            18 => NoLongSetInProgress,
            19 => DataBlockNumberInvalid,
            250 => OtherReason,
            v => Unknown(v),
        }
    }

    /// The wire code.
    pub fn to_u8(self) -> u8 {
        use DataAccessResult::*;
        match self {
            Success => 0,
            HardwareFault => 1,
            TemporaryFailure => 2,
            ReadWriteDenied => 3,
            ObjectUndefined => 4,
            ObjectClassInconsistent => 9,
            ObjectUnavailable => 11,
            TypeUnmatched => 12,
            ScopeOfAccessViolated => 13,
            DataBlockUnavailable => 14,
            LongGetAborted => 15,
            NoLongGetInProgress => 16,
            LongSetAborted => 17,
            NoLongSetInProgress => 18,
            DataBlockNumberInvalid => 19,
            OtherReason => 250,
            Unknown(v) => v,
        }
    }

    fn text(self) -> &'static str {
        use DataAccessResult::*;
        match self {
            Success => "success",
            HardwareFault => "hardware fault",
            TemporaryFailure => "temporary failure",
            ReadWriteDenied => "read-write denied",
            ObjectUndefined => "object undefined",
            ObjectClassInconsistent => "object class inconsistent",
            ObjectUnavailable => "object unavailable",
            TypeUnmatched => "type unmatched",
            ScopeOfAccessViolated => "scope of access violated",
            DataBlockUnavailable => "data block unavailable",
            LongGetAborted => "long get aborted",
            NoLongGetInProgress => "no long get in progress",
            LongSetAborted => "long set aborted",
            NoLongSetInProgress => "no long set in progress",
            DataBlockNumberInvalid => "data block number invalid",
            OtherReason => "other reason",
            Unknown(_) => "unknown data access result",
        }
    }
}

impl fmt::Display for DataAccessResult {
    /// "object undefined (4)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text(), self.to_u8())
    }
}

impl std::error::Error for DataAccessResult {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_display() {
        for v in 0..=255u8 {
            assert_eq!(DataAccessResult::from_u8(v).to_u8(), v);
        }
        assert_eq!(
            DataAccessResult::from_u8(4).to_string(),
            "object undefined (4)"
        );
        assert_eq!(
            DataAccessResult::from_u8(250),
            DataAccessResult::OtherReason
        );
        assert_eq!(
            DataAccessResult::from_u8(7).to_string(),
            "unknown data access result (7)"
        );
    }
}
