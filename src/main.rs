//! The `dlms-logger` command: the only place that knows every layer.

mod cli;

use anyhow::Result;
use clap::{Parser, Subcommand};
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
    Read {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// Items as OBIS[:CLASS[:ATTR]] (class defaults: 3 for registers, 8 clock, 7 profiles, 1 otherwise; attribute 2).
        #[arg(required = true, value_name = "OBIS[:CLASS[:ATTR]]")]
        items: Vec<String>,
        /// One JSON object per item and line (per captured row for profiles).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        profile: cli::read::ProfileArgs,
    },
    /// Read a meter's object list; optionally save it as a preset.
    Objects {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// Save the list as a preset TOML file (e.g. presets/mymeter.toml).
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// One JSON object per object and line.
        #[arg(long)]
        json: bool,
    },
    /// Change an attribute: OBIS[:ATTR] VALUE (typed like the meter's current value, or --type); prints old → new.
    Write {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// The attribute, OBIS[:ATTR] (attribute 2 when not given).
        #[arg(value_name = "OBIS[:ATTR]")]
        target: String,
        /// The new value: a number, text, hex for octet strings, now[+-SECONDS] or ISO 8601 for date-times, JSON for structures.
        value: String,
        /// The object's class (default from the OBIS code: 3 registers, 8 clock, 7 profiles, 1 data).
        #[arg(long)]
        class: Option<u16>,
        /// The value's type when it should not follow the meter's current value.
        #[arg(long = "type", value_name = "TYPE")]
        ty: Option<String>,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Invoke a method: OBIS:METHOD [PARAM] (PARAM defaults to integer 0); prints what it returned.
    Call {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// The method, OBIS:METHOD.
        #[arg(value_name = "OBIS:METHOD")]
        target: String,
        /// The parameter (an integer unless --type says otherwise).
        param: Option<String>,
        /// The object's class (default from the OBIS code).
        #[arg(long)]
        class: Option<u16>,
        /// The parameter's type.
        #[arg(long = "type", value_name = "TYPE")]
        ty: Option<String>,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Set the meter's clock from this computer's (sync), or show its drift (show).
    Clock {
        /// sync or show.
        #[arg(value_enum)]
        action: cli::shortcuts::ClockAction,
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Open or close the breaker (disconnect control 0.0.96.3.10.255, class 70), or show its state.
    Disconnect {
        /// open, close or status.
        #[arg(value_enum)]
        action: cli::shortcuts::DisconnectAction,
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Reset a register, demand register or profile (method 1); shows the value before and after.
    Reset {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// The object.
        obis: String,
        /// Its class (default from the OBIS code).
        #[arg(long)]
        class: Option<u16>,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Capture a profile row now (class 7 method 2); shows the entries in use before and after.
    Capture {
        #[command(flatten)]
        conn: cli::connection::ConnectionArgs,
        /// The profile.
        obis: String,
        #[command(flatten)]
        opts: cli::change::ChangeOpts,
    },
    /// Find a meter's interface, addresses and referencing; print them as a [[meter]] to paste.
    Probe(cli::probe::ProbeArgs),
    /// Serve simulated meters (the built-in simulator).
    ///
    /// Writable by an authenticated client (LLS or HLS; the public client 16 only reads, and
    /// the object list's access rights say so): clock 0.0.1.0.0.255 time (2) and time zone
    /// (3); energy registers 1.0.1.8.0.255 and 1.0.2.8.0.255 value (2). Callable: reset (1)
    /// of those registers, of 1.0.1.6.0.255 and 1.0.1.4.0.255; load profile 1.0.99.1.0.255
    /// reset (1) and capture (2); disconnect control 0.0.96.3.10.255 remote_disconnect (1) and
    /// remote_reconnect (2), control mode 1. Methods take integer 0. Changes last as long as
    /// the simulator, across connections; anything else answers read-write-denied.
    Simulate(cli::simulate::SimulateArgs),
    /// The full-screen UI (the default): monitor, edit the queue, review the log.
    Tui(cli::run::RunArgs),
    /// Run the logger headless: schedule the queue and log to SQLite until SIGINT/SIGTERM.
    Run(cli::run::RunArgs),
    /// Print the next fire times of a schedule ("every 15s", "at 11:00:00;11:20:00", cron).
    Schedule {
        /// The schedule expression.
        expr: String,
        /// Start from this time (RFC 3339) instead of now; it also stands for the logger's start (`?` in cron).
        #[arg(long, value_name = "RFC3339")]
        from: Option<String>,
        /// How many fire times to print (at least 1).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
    },
    /// Export logged rows as CSV or JSON lines.
    Export(cli::export::ExportArgs),
    /// Print a [[request]] built from a preset (from `objects --save`), to add to a config.
    PresetRequest {
        /// The preset file.
        preset: PathBuf,
        /// Name of the new request.
        #[arg(long)]
        name: String,
        /// Meter(s) the request reads (repeat for several meters on one bus).
        #[arg(long = "meter", required = true)]
        meters: Vec<String>,
        /// Schedule: "every 15min", "at 00:00:00", a cron expression, "once", "event NAME".
        #[arg(long, default_value = "every 15min")]
        schedule: String,
        /// Only these objects (OBIS codes); default every object of the preset.
        #[arg(long = "only", value_name = "OBIS")]
        only: Vec<String>,
    },
    /// Decode captured frames offline (HDLC, WRAPPER, M-Bus or a bare APDU; ciphered or not): a named tree, or JSON with the values.
    Decode(cli::decode::DecodeArgs),
    /// Print what a meter that only talks pushes (a HAN/P1 port), sending nothing: --passive.
    Listen(cli::listen::ListenArgs),
    /// Fire an event in the running logger (requests with schedule = { event = "NAME" }).
    #[command(visible_alias = "fire")]
    Trigger {
        /// The event name.
        name: String,
        /// The logger's control socket (default: the database path + `.sock`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// The logger's store (SQLite file or PostgreSQL URL), to find its socket.
        #[arg(
            long = "store",
            visible_alias = "db",
            value_name = "URL|FILE",
            default_value = "dlms-logger.db"
        )]
        db: String,
    },
    /// Show the sinks (MQTT brokers) of the logger logging to a database: connected, queued, dropped.
    Status(cli::status::StatusArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); e.g. `dlms-logger man > dlms-logger.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The logger reports its work at info level; one-shot commands only warn.
    let default_level = match cli.command {
        Some(Command::Run(_)) => "info",
        // The UI owns the screen: only warnings, and only when it is not running.
        None | Some(Command::Tui(_)) => "error",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DLMS_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Meter names and strings from meters may hold control characters or bidi
        // overrides: every logged value is escaped (the level colours are not values).
        .fmt_fields(tracing_subscriber::field::MakeExt::delimited(
            tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                let text = format!("{value:?}");
                let text = dlms_logger::text::escape(&text);
                match field.name() {
                    "message" => write!(w, "{text}"),
                    name => write!(w, "{name}={text}"),
                }
            }),
            " ",
        ))
        .init();
    // The simulator answers one request at a time per link, and a one-shot read is one
    // association: one thread serves them faster, since with several every answer must wake
    // another thread (tens of microseconds on an idle VM). The logger and the UI keep a pool.
    let mut builder = match cli.command {
        Some(
            Command::Simulate(_)
            | Command::Read { .. }
            | Command::Write { .. }
            | Command::Call { .. }
            | Command::Clock { .. }
            | Command::Disconnect { .. }
            | Command::Reset { .. }
            | Command::Capture { .. },
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
            eprintln!("error: {}", one_line(&e));
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
        Command::Write {
            conn,
            target,
            value,
            class,
            ty,
            opts,
        } => cli::change::write(conn, target, value, *class, ty.as_deref(), opts).await,
        Command::Call {
            conn,
            target,
            param,
            class,
            ty,
            opts,
        } => cli::change::call(conn, target, param.as_deref(), *class, ty.as_deref(), opts).await,
        Command::Clock { action, conn, opts } => cli::shortcuts::clock(conn, *action, opts).await,
        Command::Disconnect { action, conn, opts } => {
            cli::shortcuts::disconnect(conn, *action, opts).await
        }
        Command::Reset {
            conn,
            obis,
            class,
            opts,
        } => cli::shortcuts::reset(conn, obis, *class, opts).await,
        Command::Capture { conn, obis, opts } => cli::shortcuts::capture(conn, obis, opts).await,
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
        })
        .await
        .map(|_| true),
        Some(Command::Tui(args)) => cli::tui::tui(args).await.map(|_| true),
        Some(Command::Run(args)) => cli::run::run(args).await.map(|_| true),
        Some(Command::Schedule { expr, from, count }) => {
            cli::schedule::run(&expr, from.as_deref(), count as usize).map(|_| true)
        }
        Some(Command::Export(args)) => cli::export::run(&args).map(|_| true),
        Some(Command::PresetRequest {
            preset,
            name,
            meters,
            schedule,
            only,
        }) => {
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
                store: None,
            };
            print!("{}", config.to_toml());
            Ok(true)
        }
        Some(Command::Trigger { name, socket, db }) => {
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
        Some(Command::Status(args)) => cli::status::run(&args).await,
        Some(Command::Completions { shell }) => {
            // Into memory first: clap_complete panics on a write error (`| head`).
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "dlms-logger", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(true)
        }
        Some(Command::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            Ok(true)
        }
        Some(Command::Read {
            conn,
            items,
            json,
            profile,
        }) => cli::read::run(&conn, &items, json, &profile).await,
        Some(Command::Objects { conn, save, json }) => {
            cli::objects::run(&conn, save.as_deref(), json)
                .await
                .map(|_| true)
        }
        Some(Command::Probe(args)) => cli::probe::run(&args).await,
        Some(Command::Decode(args)) => cli::decode::run(&args),
        Some(Command::Listen(args)) => cli::listen::run(&args).await,
        Some(Command::Simulate(args)) => cli::simulate::run(args).await.map(|_| true),
        Some(
            Command::Write { .. }
            | Command::Call { .. }
            | Command::Clock { .. }
            | Command::Disconnect { .. }
            | Command::Reset { .. }
            | Command::Capture { .. },
        ) => unreachable_change(),
    }
}
