//! Subcommands whose arguments clap builds only when that subcommand is used.

use clap::{ArgMatches, Args, Command, Error, FromArgMatches, Id};

/// `T`'s arguments, added to their subcommand only when clap parses (or documents) that
/// subcommand: building every subcommand's arguments at each start was most of a cold
/// `read`'s allocations (1,800 of them, 640 KB, half its page faults).
#[derive(Debug)]
pub struct Lazy<T>(pub T);

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, Error> {
        T::from_arg_matches(matches).map(Lazy)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.defer(|c| keep_about(c, T::augment_args))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(|c| keep_about(c, T::augment_args_for_update))
    }

    fn group_id() -> Option<Id> {
        T::group_id()
    }
}

/// Adds the arguments but keeps the subcommand's own description: deferred, they are added
/// after it, and the arguments' type would otherwise put its doc comment in its place.
fn keep_about(cmd: Command, add: fn(Command) -> Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let mut cmd = add(cmd);
    if let Some(about) = about {
        cmd = cmd.about(about);
    }
    if let Some(long_about) = long_about {
        cmd = cmd.long_about(long_about);
    }
    cmd
}
