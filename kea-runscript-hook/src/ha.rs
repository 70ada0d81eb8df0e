//! Kea HA pairs, for scripts with `"ha"` ([`kea_runscript_core::ha`] holds the rules):
//! - the pair is read from Kea's own `config-get` answer (sent in-process, at first need
//!   after each configuration), this server's state from `ha-heartbeat` (at
//!   `dhcpX_srv_configured`, and when an expiry finds it old);
//! - at `command_processed` (registered for this), the lease changes a lease command
//!   applied become partner (or command) events, and the partner's heartbeats, whose
//!   answers carry this server's own state, keep that state current: when it leaves
//!   waiting/syncing/ready, leases may have come by a sync, and the scripts with
//!   `replay-leases` get every active lease again;
//! - at `lease4_expire` / `lease4_recover` (and v6), [`HaFollower::responsible`] tells
//!   whether this server reports the lease; a state older than `STATE_MAX_AGE` (1 s) (no
//!   heartbeat came: the partner may be down) is asked for again.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kea_hook::{command, Callout};
use kea_runscript_core::ha::{self, partner, view};
use kea_runscript_core::log::Severity;
use kea_runscript_core::Engine;
use kea_runscript_env::{Event, HookPoint};

use crate::{logging, replay};

/// How old this server's HA state may be when an expiry needs it; older, it is asked
/// again (at most once per this long, as Kea logs every command it gets).
const STATE_MAX_AGE: Duration = Duration::from_secs(1);

/// What the library knows of its HA pair.
pub struct HaFollower {
    /// 4 or 6.
    family: u8,
    /// The pair: from the configuration's hook libraries at load; `None` when loaded
    /// outside a configuration (`libreload`), then read from `config-get` at first need
    /// (not at `srv_configured`: Kea answers it with the previous configuration there);
    /// `Some(None)`: no HA.
    pair: Mutex<Option<Option<view::Pair>>>,
    /// This server's state and when it was learned.
    state: Mutex<Option<(view::State, Instant)>>,
    /// Expiries this server did not report (the partner's scope) for `expire-once`
    /// scripts, with when: held while HA may not yet see a dead partner
    /// ([`view::Pair::detection`]); reported if this server takes the scope over meanwhile.
    held: Mutex<VecDeque<(Instant, Event)>>,
    /// To the partner-events thread ([`HaFollower::start`]); `None` before it runs.
    commands: Mutex<Option<SyncSender<LeaseCommand>>>,
}

/// A lease command as `command_processed` saw it, for the partner-events thread.
struct LeaseCommand {
    name: Vec<u8>,
    arguments: Option<String>,
    response: String,
    /// Whether it came on Kea's main thread (the control channel, on Kea 2.2).
    on_main_thread: bool,
}

/// At most this many lease commands wait for the partner-events thread; past it the
/// callout applies them itself.
const COMMANDS_MAX: usize = 4096;

/// At most this many expiries are held (the oldest go first).
const HELD_MAX: usize = 20_000;

impl HaFollower {
    /// A follower when a script of `engine` has `"ha"`; the pair from the configuration's
    /// hook `libraries` (at load), said in Kea's log: a warning when HA is not there.
    pub fn new(engine: &Engine, family: u8, libraries: &[(String, String)]) -> Option<HaFollower> {
        if !engine.config().scripts.iter().any(|s| s.ha.is_some()) {
            return None;
        }
        // No libraries: loaded outside a configuration (libreload); read at first need.
        let pair = (!libraries.is_empty()).then(|| match view::Pair::from_libraries(libraries) {
            Ok(Some(pair)) => {
                log_pair(&pair);
                Some(pair)
            }
            Ok(None) => {
                logging::log(
                    Severity::Warn,
                    logging::HA,
                    "libdhcp_ha.so's parameters give no pair this library knows (this-server-name, \
                     mode, peers with roles): scripts with \"ha\" run as on a single server",
                );
                None
            }
            Err(view::NoHa) => {
                logging::log(
                    Severity::Warn,
                    logging::HA,
                    "scripts with \"ha\" but no libdhcp_ha.so among the hook libraries: they run \
                     as on a single server (no partner events, every expiry)",
                );
                None
            }
        });
        Some(HaFollower {
            family,
            pair: Mutex::new(pair),
            state: Mutex::new(None),
            held: Mutex::new(VecDeque::new()),
            commands: Mutex::new(None),
        })
    }

    /// At `dhcpX_srv_configured`: this server's HA state.
    pub fn configured(&self) {
        self.ask_state();
    }

    /// The pair, read from Kea's `config-get` answer the first time it is needed after a
    /// configuration.
    fn pair(&self) -> Option<view::Pair> {
        let mut slot = lock(&self.pair);
        if let Some(pair) = &*slot {
            return pair.clone();
        }
        let pair = match command::process(r#"{"command": "config-get"}"#) {
            Ok(answer) => view::Pair::from_config_json(&answer),
            Err(e) => {
                logging::log(Severity::Error, logging::HA, &format!("config-get: {e}"));
                None
            }
        };
        match &pair {
            Some(pair) => log_pair(pair),
            None => logging::log(
                Severity::Warn,
                logging::HA,
                "no HA configuration found (libdhcp_ha.so): scripts with \"ha\" run as on a single server",
            ),
        }
        *slot = Some(pair.clone());
        pair
    }

    /// Asks HA for this server's state (`ha-heartbeat`), and keeps it.
    fn ask_state(&self) -> Option<view::State> {
        let state = command::process(r#"{"command": "ha-heartbeat"}"#)
            .ok()
            .and_then(|answer| view::State::from_heartbeat_json(&answer));
        if let Some(state) = &state {
            *lock(&self.state) = Some((state.clone(), Instant::now()));
        }
        state
    }

    /// The `command_processed` callout: partner events, and the state the partner's
    /// heartbeat answers carry.
    pub fn command_processed(
        &self,
        engine: &Arc<Engine>,
        callout: &Callout<'_>,
    ) -> Result<(), String> {
        // The library's own commands (above) are not the partner's.
        if command::is_own() {
            return Ok(());
        }
        let name = callout
            .command_name()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        if partner::is_lease_command(&name) {
            // The partner waits for this command's answer (and its client for its ACK)
            // until the callout returns: only the copies are taken here, the rest is the
            // partner-events thread's.
            let Some(response) = callout.command_response().map_err(|e| e.to_string())? else {
                return Ok(());
            };
            let command = LeaseCommand {
                arguments: callout.command_arguments().map_err(|e| e.to_string())?,
                name: name.to_vec(),
                response,
                on_main_thread: command::on_main_thread(),
            };
            // From the control channel (Kea's main thread): applied here, while the lease
            // Kea stored is still there to be read when the command did not carry it all.
            let sender = lock(&self.commands)
                .clone()
                .filter(|_| !command.on_main_thread);
            if sender.is_none() {
                self.apply(engine, command);
                return crate::stats::publish(engine);
            }
            match sender.map(|s| s.try_send(command)) {
                Some(Ok(())) => {}
                // The thread is behind (or gone): applied here, the partner waits instead
                // of a change being lost.
                Some(Err(TrySendError::Full(command) | TrySendError::Disconnected(command))) => {
                    self.apply(engine, command)
                }
                None => {}
            }
            return Ok(());
        }
        if &name[..] == b"ha-heartbeat" {
            self.heartbeat_answered(engine, callout)?;
        }
        // The counters reach Kea's statistics at callouts; the partner's heartbeats (and
        // other commands) keep them current while no lease callout runs, e.g. the acks
        // of a worker after the last event.
        crate::stats::publish(engine)
    }

    /// The lease changes of one lease command, to the scripts with partner events.
    fn apply(&self, engine: &Engine, command: LeaseCommand) {
        let name = &command.name[..];
        let partner_name = self.pair().and_then(|p| p.partner().map(str::to_owned));
        let (events, errors) = partner::applied_json(
            name,
            command.arguments.as_deref(),
            &command.response,
            (kea_hook::KEA_VERSION, command.on_main_thread),
            partner_name.as_deref(),
            &|get| command::process(get).ok(),
        );
        for error in errors {
            logging::limited(Severity::Warn, logging::HA, || {
                format!(
                    "{}: a lease change not passed to scripts: {error}",
                    String::from_utf8_lossy(name)
                )
            });
        }
        for mut event in events {
            event.kea_version = kea_hook::KEA_VERSION;
            engine.handle_where(event, &|_| Vec::new(), &ha::wants_partner_events);
        }
    }

    /// The answer to a partner's heartbeat is this server's state: kept; leaving the
    /// states before a sync starts the sync replay.
    fn heartbeat_answered(
        &self,
        engine: &Arc<Engine>,
        callout: &Callout<'_>,
    ) -> Result<(), String> {
        let Some(state) = callout
            .command_response()
            .map_err(|e| e.to_string())?
            .and_then(|answer| view::State::from_heartbeat_json(&answer))
        else {
            return Ok(());
        };
        let previous = lock(&self.state)
            .replace((state.clone(), Instant::now()))
            .map(|(s, _)| s);
        if previous.as_ref().is_some_and(|p| p.name != state.name) {
            logging::log(
                Severity::Info,
                logging::HA,
                &format!(
                    "HA state {} -> {} (scopes: {})",
                    previous.as_ref().map_or("", |p| &p.name),
                    state.name,
                    state.scopes.join(" ")
                ),
            );
        }
        let synced = previous.is_some_and(|p| p.is_before_sync()) && !state.is_before_sync();
        if synced {
            self.sync_replay(engine, callout);
        }
        Ok(())
    }

    /// After a sync: every active lease again to the scripts with `replay-leases` and
    /// `ha.sync-replay`.
    fn sync_replay(&self, engine: &Arc<Engine>, callout: &Callout<'_>) {
        let hook_point = if self.family == 6 {
            HookPoint::Lease6Replay
        } else {
            HookPoint::Lease4Replay
        };
        if !engine.wants_where(hook_point, &ha::wants_sync_replay) {
            return;
        }
        match callout.lease_snapshot(self.family == 6) {
            Ok(snapshot) => replay::spawn(
                Arc::clone(engine),
                hook_point,
                snapshot,
                ha::wants_sync_replay,
                "after the HA sync",
            ),
            Err(e) => logging::log(
                Severity::Error,
                logging::REPLAY,
                &format!("{hook_point} after the HA sync: cannot read the leases: {e}"),
            ),
        }
    }

    /// Whether this server reports the expiry (or recovery) at `callout` (see
    /// [`view::responsible`]).
    pub fn responsible(&self, callout: &Callout<'_>) -> bool {
        let Some(pair) = self.pair() else {
            return true;
        };
        let fresh = lock(&self.state)
            .as_ref()
            .filter(|(_, at)| at.elapsed() < STATE_MAX_AGE)
            .map(|(s, _)| s.clone());
        let state = fresh.or_else(|| self.ask_state());
        let key = match pair.mode {
            view::Mode::LoadBalancing if self.family == 6 => callout
                .lease6()
                .ok()
                .flatten()
                .and_then(|l| view::client_key6(&l).map(<[u8]>::to_vec)),
            view::Mode::LoadBalancing => callout
                .lease4()
                .ok()
                .flatten()
                .and_then(|l| view::client_key4(&l).map(<[u8]>::to_vec)),
            _ => None,
        };
        view::responsible(&pair, state.as_ref(), key.as_deref())
    }
}

impl HaFollower {
    /// Holds an expiry this server does not report now (see `held`).
    pub fn hold(&self, event: Event) {
        let mut held = lock(&self.held);
        if held.len() == HELD_MAX {
            held.pop_front();
        }
        held.push_back((Instant::now(), event));
    }

    /// Starts the library's HA thread: it turns the lease commands `command_processed`
    /// passes it into partner events, in their order, and once a second looks at the
    /// held expiries: while some are held and no heartbeat said this server's state
    /// lately (the partner silent), it asks the state; an expiry whose lease this server
    /// now serves is reported, one older than HA's detection time is let go (the partner
    /// was alive and reported it). It ends when the engine is shut down.
    pub fn start(self: &Arc<Self>, engine: Arc<Engine>) {
        let (sender, commands) = sync_channel::<LeaseCommand>(COMMANDS_MAX);
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("kea-rs-ha".into())
            .spawn(move || {
                let mut last_look = Instant::now();
                while !engine.is_stopped() {
                    match commands.recv_timeout(Duration::from_millis(200)) {
                        Ok(command) => me.apply(&engine, command),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    if last_look.elapsed() >= Duration::from_secs(1) {
                        last_look = Instant::now();
                        me.report_held(&engine);
                    }
                }
            });
        match spawned {
            Ok(_) => *lock(&self.commands) = Some(sender),
            Err(e) => logging::log(
                Severity::Error,
                logging::HA,
                &format!("cannot start the HA thread (partner events are applied on HA's threads, held expiries not reported): {e}"),
            ),
        }
    }

    fn report_held(&self, engine: &Engine) {
        if lock(&self.held).is_empty() {
            return;
        }
        let Some(pair) = self.pair() else {
            lock(&self.held).clear();
            return;
        };
        let fresh = lock(&self.state)
            .as_ref()
            .filter(|(_, at)| at.elapsed() < STATE_MAX_AGE * 2)
            .map(|(s, _)| s.clone());
        let state = fresh.or_else(|| self.ask_state());
        let due: Vec<Event> = {
            let mut held = lock(&self.held);
            let mut due = Vec::new();
            held.retain(|(at, event)| {
                if view::responsible(&pair, state.as_ref(), view::client_key(event)) {
                    due.push(event.clone());
                    false
                } else {
                    at.elapsed() < pair.detection
                }
            });
            due
        };
        if !due.is_empty() {
            logging::log(
                Severity::Info,
                logging::HA,
                &format!(
                    "{} expiries held while the partner was unanswered now reported (state {})",
                    due.len(),
                    state.as_ref().map_or("unknown", |s| s.name.as_str())
                ),
            );
        }
        for event in due {
            engine.handle_where(event, &|_| Vec::new(), &ha::reports_held_expiry);
        }
    }
}

/// Says which pair the library follows.
fn log_pair(pair: &view::Pair) {
    logging::log(
        Severity::Info,
        logging::HA,
        &format!(
            "HA pair: this server {}, partner {}, mode {:?}",
            pair.this,
            pair.partner().unwrap_or("none"),
            pair.mode
        ),
    );
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `hook_point`'s events are expiries a pair reports once.
pub fn is_expiry(hook_point: HookPoint) -> bool {
    use kea_runscript_env::LeaseChange;
    matches!(
        hook_point.lease_change(),
        Some(LeaseChange::Expire | LeaseChange::Recover)
    )
}
