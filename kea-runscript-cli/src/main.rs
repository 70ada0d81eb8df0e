//! `kea-runscript`: test a kea-runscript script without a DHCP server.
//!
//! A second consumer of the library crates: `render` uses `kea-runscript-env` exactly as the
//! hook does, `run` and `replay` hand events to `kea-runscript-core`'s [`Engine`], the runner
//! the hook uses. See README.md for the event format and the exit statuses.

mod event_file;
mod lease_file;
mod params;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use kea_runscript_core::log::{LogSink, Severity};
use kea_runscript_core::{AnswerData, Decision, Engine, Verdict};
use kea_runscript_env::{Event, HookPoint, Profile};

/// Exit status when the sync verdict is `skip`.
const EXIT_SKIP: u8 = 3;
/// Exit status when the sync verdict is `drop`.
const EXIT_DROP: u8 = 4;
/// Exit status of a failure of the tool itself (bad file, bad JSON, script cannot start).
const EXIT_ERROR: u8 = 1;

/// Render, run and replay Kea DHCP hook events for a kea-runscript script, without Kea.
#[derive(Parser, Debug)]
#[command(name = "kea-runscript", version, about, long_about = None)]
struct Cli {
    /// Also print core's informational log lines (script configured, counters at the end).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the variables the hook sets for EVENT, one NAME=value line each, in the hook's order.
    Render {
        /// Event file: JSON as in fixtures/events/ (see the README's "Event files").
        event: PathBuf,
        /// Variable set, as the script's "variables" parameter: kea or kea-hook-runscript.
        #[arg(long, value_name = "PROFILE", default_value = "kea", value_parser = parse_profile)]
        variables: Profile,
    },
    /// Run SCRIPT for EVENT through the hook's runner and print the sync verdict.
    ///
    /// Exit status: 0 continue, 3 skip, 4 drop, 1 when the event, the parameters or the
    /// script cannot be used.
    Run {
        /// The script (made absolute; must be executable).
        script: PathBuf,
        /// Event file: JSON as in fixtures/events/.
        event: PathBuf,
        /// The hook's `parameters` for this script (JSON object; "name" and "sync" are set by
        /// the tool, "hook-points" defaults to the event's hook point).
        #[arg(long, value_name = "PARAMS.json")]
        config: Option<PathBuf>,
    },
    /// Run SCRIPT once per active lease of a Kea memfile lease file (v4 or v6 CSV).
    ///
    /// Each lease becomes an event of --hook-point (default lease4_renew for a v4 file,
    /// lease6_renew for a v6 file) with the lease as LEASE4_* / LEASE6_*; for
    /// leases4_committed / leases6_committed it is the one lease of LEASES4_AT0_* /
    /// LEASES6_AT0_*. Active: the last record of each address, not deleted, in state
    /// default and not expired (see --all).
    Replay {
        /// Kea's memfile lease file (e.g. /var/lib/kea/kea-leases4.csv).
        lease_file: PathBuf,
        /// The script (made absolute; must be executable).
        script: PathBuf,
        /// Hook point of the events (one with a lease4/leases4 or lease6/leases6 argument).
        #[arg(long, value_name = "NAME")]
        hook_point: Option<String>,
        /// The hook's `parameters` for this script (as for `run`).
        #[arg(long, value_name = "PARAMS.json")]
        config: Option<PathBuf>,
        /// Also replay expired, declined and reclaimed leases.
        #[arg(long)]
        all: bool,
    },
}

/// Core's log lines (warnings and errors; all with `--verbose`), on stderr under the
/// tool's name.
struct StderrLog {
    verbose: bool,
}

impl LogSink for StderrLog {
    fn log(&self, severity: Severity, id: &'static str, text: &str) {
        if self.verbose || severity >= Severity::Warn {
            eprintln!("kea-runscript: {severity:?} {id}: {text}");
        }
    }
}

/// A failure of the tool: printed as one `kea-runscript: error: ...` line, exit status 1.
type CliResult<T> = Result<T, String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(
        cli.command,
        StderrLog {
            verbose: cli.verbose,
        },
    ) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("kea-runscript: error: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn dispatch(command: Command, log: StderrLog) -> CliResult<ExitCode> {
    match command {
        Command::Render { event, variables } => render(&event, variables),
        Command::Run {
            script,
            event,
            config,
        } => run(&script, &event, config.as_deref(), log),
        Command::Replay {
            lease_file,
            script,
            hook_point,
            config,
            all,
        } => replay(
            &lease_file,
            &script,
            hook_point.as_deref(),
            config.as_deref(),
            all,
            log,
        ),
    }
}

fn parse_profile(name: &str) -> Result<Profile, String> {
    name.parse()
        .map_err(|e: kea_runscript_env::UnknownProfile| e.to_string())
}

fn render(event: &Path, variables: Profile) -> CliResult<ExitCode> {
    let event = event_file::load(event)?;
    let mut out = std::io::stdout().lock();
    for (name, value) in variables.render(&event) {
        // The value's bytes as they are (a host name need not be UTF-8), as a script gets them.
        [name.as_bytes(), b"=", value.as_bytes(), b"\n"]
            .iter()
            .try_for_each(|part| out.write_all(part))
            .map_err(|e| format!("writing to stdout: {e}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// An engine running `script` synchronously at `hook_points` with the `--config` parameters.
fn engine(
    script: &Path,
    config: Option<&Path>,
    hook_points: &[HookPoint],
    log: StderrLog,
) -> CliResult<Engine> {
    let parameters = params::build(script, config, hook_points)?;
    Engine::from_json(&parameters, Arc::new(log)).map_err(|e| match config {
        Some(path) => format!("{}: {e}", path.display()),
        None => e.to_string(),
    })
}

/// The verdict's name and the tool's exit status for it; a verdict core added after this
/// was written has no exit status of its own: an error that names it.
fn verdict_outcome(verdict: Verdict) -> CliResult<(&'static str, u8)> {
    match verdict {
        Verdict::Continue => Ok(("continue", 0)),
        Verdict::Skip => Ok(("skip", EXIT_SKIP)),
        Verdict::Drop => Ok(("drop", EXIT_DROP)),
        other => Err(format!(
            "the script's verdict is {}, which this version of the tool does not know",
            other.name()
        )),
    }
}

/// Runs the events through one engine; the first failed start stops with an error.
fn deliver(engine: &Engine, event: &Event) -> CliResult<Decision> {
    let before = engine.counters().failed_to_start;
    let verdict = engine.decide_where(event.clone(), &|_| Vec::new(), &|_| true);
    if engine.counters().failed_to_start > before {
        return Err(format!(
            "the script could not be started at {} (the reason is logged above)",
            event.hook_point
        ));
    }
    Ok(verdict)
}

/// The data of the script's answer, one `field: value` line each (nothing when none).
fn print_answer(data: &AnswerData) {
    for class in &data.classes {
        println!("class: {class}");
    }
    if let Some(hostname) = &data.hostname {
        println!("hostname: {hostname}");
    }
    if let Some(flag) = data.fwd_update {
        println!("fwd-update: {flag}");
    }
    if let Some(flag) = data.rev_update {
        println!("rev-update: {flag}");
    }
    if let Some(flag) = data.address_in_use {
        println!("address-in-use: {flag}");
    }
    if let Some(id) = &data.flex_id {
        let hex: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
        println!("flex-id: {}", hex.join(":"));
    }
}

fn run(script: &Path, event: &Path, config: Option<&Path>, log: StderrLog) -> CliResult<ExitCode> {
    let event = event_file::load(event)?;
    let engine = engine(script, config, &[event.hook_point], log)?;
    if !engine.wants(event.hook_point) {
        return Err(format!(
            "the parameters do not select the script at {} (see their \"hook-points\")",
            event.hook_point
        ));
    }
    let verdict = deliver(&engine, &event);
    engine.shutdown();
    let decision = verdict?;
    let (name, status) = verdict_outcome(decision.verdict)?;
    println!("verdict: {name}");
    print_answer(&decision.data);
    Ok(ExitCode::from(status))
}

fn replay(
    lease_file: &Path,
    script: &Path,
    hook_point: Option<&str>,
    config: Option<&Path>,
    all: bool,
    log: StderrLog,
) -> CliResult<ExitCode> {
    let leases = lease_file::load(lease_file)?;
    let hook_point = match hook_point {
        Some(name) => name.parse::<HookPoint>().map_err(|e| e.to_string())?,
        None => leases.default_hook_point(),
    };
    let filter = if all {
        lease_file::Filter::All
    } else {
        lease_file::Filter::ActiveAt(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        )
    };
    let events = leases.events(hook_point, filter)?;
    let engine = engine(script, config, &[hook_point], log)?;
    let mut outcome = Ok(());
    for event in &events {
        if let Err(e) = deliver(&engine, event) {
            outcome = Err(e);
            break;
        }
    }
    engine.shutdown();
    outcome?;
    eprintln!(
        "kea-runscript: replayed {} lease(s) of {} at {hook_point}",
        events.len(),
        lease_file.display()
    );
    Ok(ExitCode::SUCCESS)
}
