//! Why a schedule text or config entry was rejected.

/// A schedule that cannot be parsed; each message names the field and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Empty, or one word that is no keyword.
    #[error("schedule \"{0}\": write once, every <N><unit>, at HH:MM:SS, event <name> or a cron expression")]
    Unrecognized(String),
    /// `once` was followed by something.
    #[error("once \"{0}\": once takes nothing after it")]
    OnceArgument(String),
    /// `once = false` in a config file.
    #[error("once = false: once can only be true (remove the schedule to never fire)")]
    OnceFalse,
    /// The interval of `every` is not a number followed by a unit.
    #[error("every \"{0}\": write a whole number followed by ms, s, min or h, e.g. every 15s")]
    EveryFormat(String),
    /// The unit of `every` is unknown.
    #[error("every \"{text}\": unit \"{unit}\" is unknown; use ms, s, min or h")]
    EveryUnit {
        /// The interval as written.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// `every 0s`.
    #[error("every \"{0}\": the interval must be greater than zero")]
    EveryZero(String),
    /// The interval does not fit in a duration.
    #[error("every \"{0}\": the interval is too long")]
    EveryTooLong(String),
    /// `at` without any time.
    #[error("at: give at least one time of day as HH:MM:SS or HH:MM, several separated by \";\"")]
    AtEmpty,
    /// A time of day that is not `HH:MM:SS` or `HH:MM`.
    #[error("at time \"{0}\": write HH:MM:SS or HH:MM")]
    AtFormat(String),
    /// A time of day with a part out of range.
    #[error("at time \"{text}\": {part} must be 0 to {max}")]
    AtRange {
        /// The time as written.
        text: String,
        /// `hours`, `minutes` or `seconds`.
        part: &'static str,
        /// The largest allowed value.
        max: u32,
    },
    /// A cron expression with neither 5 nor 6 fields.
    #[error("cron expression \"{text}\" has {count} fields: write 5 (minute hour day-of-month month day-of-week) or 6 (second first)")]
    CronFieldCount {
        /// The expression as written.
        text: String,
        /// How many fields it has.
        count: usize,
    },
    /// One cron field is wrong.
    #[error("cron field {index} ({name}) \"{item}\": {problem}")]
    CronField {
        /// Position in the expression as written, from 1.
        index: usize,
        /// The field's name, e.g. `day of month`.
        name: &'static str,
        /// The offending part of the field.
        item: String,
        /// What is wrong with it.
        problem: CronFieldProblem,
    },
    /// A cron expression whose days and months have no date in common (31 February).
    #[error("cron expression \"{text}\" can never fire: {why}")]
    CronNever {
        /// The expression as written.
        text: String,
        /// Which days do not exist in which months.
        why: String,
    },
    /// An event name that is not one word.
    #[error("event name \"{0}\": use one word of letters, digits, \"_\", \"-\" or \".\"")]
    EventName(String),
}

/// What is wrong with one cron field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronFieldProblem {
    /// A number out of range or an unknown name; holds the allowed values.
    #[error("values must be {0}")]
    OutOfRange(&'static str),
    /// A range such as `5-1`.
    #[error("a range must go from low to high")]
    Reversed,
    /// A step such as `*/0`.
    #[error("steps must be a whole number of at least 1")]
    BadStep,
    /// `?` in the day-of-week field.
    #[error("\"?\" (the start time's value) is allowed only in the second, minute, hour, day-of-month and month fields")]
    StartNotAllowed,
    /// `?` inside a list or range.
    #[error("\"?\" must be the whole field")]
    StartInList,
    /// `1,,2` or a trailing comma.
    #[error("a list item is empty")]
    EmptyItem,
}
