//! The `dlms-logger` command: the only place that knows every layer.

mod cli;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use cli::lazy::Lazy;
use std::path::PathBuf;
use std::process::ExitCode;

/// Terminal data logger for DLMS/COSEM (IEC 62056) smart meters.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Print the built-in demo queue (a starting point for your own config) and exit.
    #[arg(long)]
    print_demo_config: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read attributes from a meter: OBIS[:CLASS[:ATTR]]...
    Read(Lazy<ReadArgs>),
    /// Read a meter's object list; optionally save it as a preset.
    Objects(Lazy<ObjectsArgs>),
    /// Change an attribute: OBIS[:ATTR] VALUE (typed like the meter's current value, or --type); prints old → new.
    Write(Lazy<WriteArgs>),
    /// Invoke a method: OBIS:METHOD [PARAM] (PARAM defaults to integer 0); prints what it returned.
    Call(Lazy<CallArgs>),
    /// Set the meter's clock from this computer's (sync), or show its drift (show).
    Clock(Lazy<ClockArgs>),
    /// Open or close the breaker (disconnect control 0.0.96.3.10.255, class 70), or show its state.
    Disconnect(Lazy<DisconnectArgs>),
    /// Reset a register, demand register or profile (method 1); shows the value before and after.
    Reset(Lazy<ResetArgs>),
    /// Capture a profile row now (class 7 method 2); shows the entries in use before and after.
    Capture(Lazy<CaptureArgs>),
    /// Find a meter's interface, addresses and referencing; print them as a [[meter]] to paste.
    Probe(Lazy<cli::probe::ProbeArgs>),
    /// Serve simulated meters (the built-in simulator).
    ///
    /// Writable by an authenticated client (LLS or HLS; the public client 16 only reads, and
    /// the object list's access rights say so): clock 0.0.1.0.0.255 time (2) and time zone
    /// (3); energy registers 1.0.1.8.0.255 and 1.0.2.8.0.255 value (2). Callable: reset (1)
    /// of those registers, of 1.0.1.6.0.255 and 1.0.1.4.0.255; load profile 1.0.99.1.0.255
    /// reset (1) and capture (2); disconnect control 0.0.96.3.10.255 remote_disconnect (1) and
    /// remote_reconnect (2), control mode 1. Methods take integer 0. Changes last as long as
    /// the simulator, across connections; anything else answers read-write-denied.
    Simulate(Lazy<cli::simulate::SimulateArgs>),
    /// The full-screen UI (the default): monitor, edit the queue, review the log.
    Tui(Lazy<cli::run::RunArgs>),
    /// Run the logger headless: schedule the queue and log to SQLite until SIGINT/SIGTERM.
    Run(Lazy<cli::run::RunArgs>),
    /// Check a queue file and print every problem (file:line:column, in file order); exit 1 if any.
    Check(Lazy<CheckArgs>),
    /// Print the next fire times of a schedule ("every 15s", "at 11:00:00;11:20:00", cron).
    Schedule(Lazy<ScheduleArgs>),
    /// Export logged rows as CSV or JSON lines.
    Export(Lazy<cli::export::ExportArgs>),
    /// Print a [[request]] built from a preset (from `objects --save`), to add to a config.
    PresetRequest(Lazy<PresetRequestArgs>),
    /// Decode captured frames offline (HDLC, WRAPPER, M-Bus or a bare APDU; ciphered or not): a named tree, or JSON with the values.
    Decode(Lazy<cli::decode::DecodeArgs>),
    /// Print what a meter that only talks pushes (a HAN/P1 port), sending nothing: --passive.
    Listen(Lazy<cli::listen::ListenArgs>),
    /// Fire an event in the running logger (requests with schedule = { event = "NAME" }).
    #[command(visible_alias = "fire")]
    Trigger(Lazy<TriggerArgs>),
    /// Show the sinks (MQTT brokers) of the logger logging to a database: connected, queued, dropped.
    Status(Lazy<cli::status::StatusArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(Lazy<CompletionsArgs>),
    /// Print the man page (roff); e.g. `dlms-logger man > dlms-logger.1`.
    Man,
}

/// The arguments of `read`.
#[derive(Debug, Args)]
struct ReadArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// Items as OBIS[:CLASS[:ATTR]] (class defaults: 3 for registers, 8 clock, 7 profiles, 1 otherwise; attribute 2).
    #[arg(required = true, value_name = "OBIS[:CLASS[:ATTR]]")]
    pub items: Vec<String>,
    /// One JSON object per item and line (per captured row for profiles).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub profile: cli::read::ProfileArgs,
}

/// The arguments of `objects`.
#[derive(Debug, Args)]
struct ObjectsArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// Save the list as a preset TOML file (e.g. presets/mymeter.toml).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// One JSON object per object and line.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `write`.
#[derive(Debug, Args)]
struct WriteArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// The attribute, OBIS[:ATTR] (attribute 2 when not given).
    #[arg(value_name = "OBIS[:ATTR]")]
    pub target: String,
    /// The new value: a number, text, hex for octet strings, now[+-SECONDS] or ISO 8601 for date-times, JSON for structures.
    pub value: String,
    /// The object's class (default from the OBIS code: 3 registers, 8 clock, 7 profiles, 1 data).
    #[arg(long)]
    pub class: Option<u16>,
    /// The value's type when it should not follow the meter's current value.
    #[arg(long = "type", value_name = "TYPE")]
    pub ty: Option<String>,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `call`.
#[derive(Debug, Args)]
struct CallArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// The method, OBIS:METHOD.
    #[arg(value_name = "OBIS:METHOD")]
    pub target: String,
    /// The parameter (an integer unless --type says otherwise).
    pub param: Option<String>,
    /// The object's class (default from the OBIS code).
    #[arg(long)]
    pub class: Option<u16>,
    /// The parameter's type.
    #[arg(long = "type", value_name = "TYPE")]
    pub ty: Option<String>,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `clock`.
#[derive(Debug, Args)]
struct ClockArgs {
    /// sync or show.
    #[arg(value_enum)]
    pub action: cli::shortcuts::ClockAction,
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `disconnect`.
#[derive(Debug, Args)]
struct DisconnectArgs {
    /// open, close or status.
    #[arg(value_enum)]
    pub action: cli::shortcuts::DisconnectAction,
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `reset`.
#[derive(Debug, Args)]
struct ResetArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// The object.
    pub obis: String,
    /// Its class (default from the OBIS code).
    #[arg(long)]
    pub class: Option<u16>,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `capture`.
#[derive(Debug, Args)]
struct CaptureArgs {
    #[command(flatten)]
    pub conn: cli::connection::ConnectionArgs,
    /// The profile.
    pub obis: String,
    #[command(flatten)]
    pub opts: cli::change::ChangeOpts,
}

/// The arguments of `check`.
#[derive(Debug, Args)]
struct CheckArgs {
    /// The queue (TOML). Default: ./dlms-logger.toml.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The arguments of `schedule`.
#[derive(Debug, Args)]
struct ScheduleArgs {
    /// The schedule expression.
    pub expr: String,
    /// Start from this time (RFC 3339) instead of now; it also stands for the logger's start (`?` in cron).
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
    /// How many fire times to print (at least 1).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
}

/// The arguments of `preset-request`.
#[derive(Debug, Args)]
struct PresetRequestArgs {
    /// The preset file.
    pub preset: PathBuf,
    /// Name of the new request.
    #[arg(long)]
    pub name: String,
    /// Meter(s) the request reads (repeat for several meters on one bus).
    #[arg(long = "meter", required = true)]
    pub meters: Vec<String>,
    /// Schedule: "every 15min", "at 00:00:00", a cron expression, "once", "event NAME".
    #[arg(long, default_value = "every 15min")]
    pub schedule: String,
    /// Only these objects (OBIS codes); default every object of the preset.
    #[arg(long = "only", value_name = "OBIS")]
    pub only: Vec<String>,
}

/// The arguments of `trigger`.
#[derive(Debug, Args)]
struct TriggerArgs {
    /// The event name.
    pub name: String,
    /// The logger's control socket (default: the database path + `.sock`).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The logger's store (SQLite file or PostgreSQL URL), to find its socket.
    #[arg(
        long = "store",
        visible_alias = "db",
        value_name = "URL|FILE",
        default_value = "dlms-logger.db"
    )]
    pub db: String,
}

/// The arguments of `completions`.
#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The logger reports its work at info level; one-shot commands only warn.
    // The logger's lines suit journald without a terminal; one-shot commands keep theirs.
    let style = match cli.command {
        None | Some(Command::Run(_) | Command::Tui(_)) => cli::journal::Style::for_logger(),
        _ => cli::journal::Style::Plain,
    };
    let default_level = match cli.command {
        Some(Command::Run(_)) => "info",
        // Without a terminal the UI runs headless: it logs like `run` (never silently).
        None | Some(Command::Tui(_)) if !cli::tui::has_terminal() => "info",
        // The UI owns the screen: only warnings, and only when it is not running.
        None | Some(Command::Tui(_)) => "error",
        _ => "warn",
    };
    cli::journal::init(default_level, style);
    // The logger keeps a socket per meter, the simulator two: both may use every file the hard
    // limit allows (one-shot commands skip the two system calls).
    if matches!(
        cli.command,
        None | Some(Command::Run(_) | Command::Tui(_) | Command::Simulate(_))
    ) {
        cli::file_limit::raise();
    }
    // The simulator answers one request at a time per link, and a one-shot read is one
    // association: one thread serves them faster, since with several every answer must wake
    // another thread (tens of microseconds on an idle VM). The logger and the UI keep a pool.
    let mut builder = match cli.command {
        Some(
            Command::Simulate(_)
            | Command::Read(_)
            | Command::Write(_)
            | Command::Call(_)
            | Command::Clock(_)
            | Command::Disconnect(_)
            | Command::Reset(_)
            | Command::Capture(_),
        ) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Each line (a config with several problems has one per problem) with its priority.
            let prefix = style.prefix(tracing::Level::ERROR);
            for line in format!("error: {}", one_line(&e)).lines() {
                eprintln!("{prefix}{line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The change commands are run before `run_other` is reached.
fn unreachable_change() -> Result<bool> {
    anyhow::bail!("internal error: a change command reached the wrong dispatcher")
}

/// The error and its causes on one line, each cause once (wrapped errors repeat their source).
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let m = cause.to_string();
        if !out.ends_with(&m) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&m);
        }
    }
    out
}

/// Runs a command; the exit code (0 all done, 1 not everything succeeded; the change
/// commands add 2 refused and 3 unknown outcome).
async fn run(cli: Cli) -> Result<u8> {
    let code = |ok: bool| u8::from(!ok);
    if let Some(c) = change_command(&cli.command).await {
        return c;
    }
    run_other(cli).await.map(code)
}

/// The change commands (`write`, `call`, `clock`, `disconnect`, `reset`, `capture`).
async fn change_command(command: &Option<Command>) -> Option<Result<u8>> {
    Some(match command.as_ref()? {
        Command::Write(Lazy(WriteArgs {
            conn,
            target,
            value,
            class,
            ty,
            opts,
        })) => cli::change::write(conn, target, value, *class, ty.as_deref(), opts).await,
        Command::Call(Lazy(CallArgs {
            conn,
            target,
            param,
            class,
            ty,
            opts,
        })) => cli::change::call(conn, target, param.as_deref(), *class, ty.as_deref(), opts).await,
        Command::Clock(Lazy(ClockArgs { action, conn, opts })) => {
            cli::shortcuts::clock(conn, *action, opts).await
        }
        Command::Disconnect(Lazy(DisconnectArgs { action, conn, opts })) => {
            cli::shortcuts::disconnect(conn, *action, opts).await
        }
        Command::Reset(Lazy(ResetArgs {
            conn,
            obis,
            class,
            opts,
        })) => cli::shortcuts::reset(conn, obis, *class, opts).await,
        Command::Capture(Lazy(CaptureArgs { conn, obis, opts })) => {
            cli::shortcuts::capture(conn, obis, opts).await
        }
        _ => return None,
    })
}

/// Every other command; `Ok(false)` means it ran but not everything succeeded.
async fn run_other(cli: Cli) -> Result<bool> {
    if cli.print_demo_config {
        print!("{}", cli::run::DEMO_CONFIG);
        return Ok(true);
    }
    match cli.command {
        None => cli::tui::tui(cli::run::RunArgs {
            config: None,
            store: None,
            socket: None,
            counter_db: None,
            spill: None,
            metrics: None,
            link_budget: None,
            fleet: Default::default(),
        })
        .await
        .map(|_| true),
        Some(Command::Tui(Lazy(args))) => cli::tui::tui(args).await.map(|_| true),
        Some(Command::Run(Lazy(args))) => cli::run::run(args).await.map(|_| true),
        Some(Command::Check(Lazy(CheckArgs { config }))) => {
            cli::run::check(config.as_deref()).map(|_| true)
        }
        Some(Command::Schedule(Lazy(ScheduleArgs { expr, from, count }))) => {
            cli::schedule::run(&expr, from.as_deref(), count as usize).map(|_| true)
        }
        Some(Command::Export(Lazy(args))) => cli::export::run(&args).map(|_| true),
        Some(Command::PresetRequest(Lazy(PresetRequestArgs {
            preset,
            name,
            meters,
            schedule,
            only,
        }))) => {
            let preset = dlms_logger::queue::Preset::load(&preset)?;
            let schedule: dlms_logger::schedule::Schedule = schedule.parse()?;
            let only = only
                .iter()
                .map(|o| o.parse())
                .collect::<Result<Vec<dlms_logger::dlms::obis::Obis>, _>>()?;
            let request =
                dlms_logger::queue::request_from_preset(&preset, &name, meters, schedule, &only);
            let config = dlms_logger::queue::Config {
                connections: vec![],
                meters: vec![],
                requests: vec![request],
                sinks: vec![],
                fleet: None,
                store: None,
                index: Default::default(),
            };
            print!("{}", config.to_toml());
            Ok(true)
        }
        Some(Command::Trigger(Lazy(TriggerArgs { name, socket, db }))) => {
            let socket = match socket {
                Some(s) => s,
                None => dlms_logger::runner::control::default_socket(
                    &dlms_logger::store::StoreLocation::parse(&db)?.local_path(),
                ),
            };
            let n = dlms_logger::runner::control::trigger(&socket, &name).await?;
            println!("event {name:?} fired {n} request(s)");
            Ok(true)
        }
        Some(Command::Status(Lazy(args))) => cli::status::run(&args).await,
        Some(Command::Completions(Lazy(CompletionsArgs { shell }))) => {
            // Into memory first: clap_complete panics on a write error (`| head`).
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Every subcommand's arguments, which are otherwise built only when used (`Lazy`).
            cmd.build();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "dlms-logger", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(true)
        }
        Some(Command::Man) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            cmd.build();
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            Ok(true)
        }
        Some(Command::Read(Lazy(ReadArgs {
            conn,
            items,
            json,
            profile,
        }))) => cli::read::run(&conn, &items, json, &profile).await,
        Some(Command::Objects(Lazy(ObjectsArgs { conn, save, json }))) => {
            cli::objects::run(&conn, save.as_deref(), json)
                .await
                .map(|_| true)
        }
        Some(Command::Probe(Lazy(args))) => cli::probe::run(&args).await,
        Some(Command::Decode(Lazy(args))) => cli::decode::run(&args),
        Some(Command::Listen(Lazy(args))) => cli::listen::run(&args).await,
        Some(Command::Simulate(Lazy(args))) => cli::simulate::run(args).await.map(|_| true),
        Some(
            Command::Write(_)
            | Command::Call(_)
            | Command::Clock(_)
            | Command::Disconnect(_)
            | Command::Reset(_)
            | Command::Capture(_),
        ) => unreachable_change(),
    }
}
