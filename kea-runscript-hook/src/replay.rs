//! Replay of existing leases (`"replay-leases": true`): when Kea has (re)loaded its
//! configuration and lease database (`dhcp4_srv_configured` / `dhcp6_srv_configured`), every
//! active lease is delivered once to the scripts that asked, as a `lease4_replay` /
//! `lease6_replay` event with the `LEASE4_*` / `LEASE6_*` and `SUBNET4_*` / `SUBNET6_*`
//! variables.
//!
//! Kea's thread only takes the snapshot (the lease manager's copy of the active leases and
//! the subnets), which is the one thing that must happen there; a thread of ours then turns
//! one lease at a time into an event with the same extraction as Kea's callouts and hands it
//! to the engine, which paces it by each script's bounds ([`Engine::replay`]). Kea serves
//! packets meanwhile. The snapshot lets go of each lease once delivered. A reload or unload
//! stops a replay in progress (its engine is shut down).

use std::sync::Arc;

use kea_hook::{LeaseSnapshot, SrvConfigured};
use kea_runscript_core::config::ScriptConfig;
use kea_runscript_core::log::Severity;
use kea_runscript_core::Engine;
use kea_runscript_env::HookPoint;

use crate::logging;

/// The `dhcpX_srv_configured` callout: starts the replay of that family's leases when a
/// script of `engine` wants it.
pub fn start(engine: Arc<Engine>, configured: &SrvConfigured<'_>) -> Result<(), String> {
    let hook_point = if configured.family() == 6 {
        HookPoint::Lease6Replay
    } else {
        HookPoint::Lease4Replay
    };
    if !engine.wants(hook_point) {
        return Ok(());
    }
    let snapshot = configured
        .lease_snapshot()
        .map_err(|e| format!("cannot read the leases to replay: {e}"))?;
    spawn(engine, hook_point, snapshot, |_| true, "in the background");
    Ok(())
}

/// Replays `snapshot` at `hook_point` on a thread of its own, to the scripts selected
/// there that `keep` keeps; `why` says when, for the log.
pub fn spawn(
    engine: Arc<Engine>,
    hook_point: HookPoint,
    snapshot: LeaseSnapshot,
    keep: fn(&ScriptConfig) -> bool,
    why: &str,
) {
    logging::log(
        Severity::Info,
        logging::REPLAY,
        &format!(
            "{hook_point}: replaying {} active leases {why}",
            snapshot.len()
        ),
    );
    if let Err(e) = std::thread::Builder::new()
        .name("kea-rs-replay".into())
        .spawn(move || run(&engine, hook_point, snapshot, keep))
    {
        logging::log(
            Severity::Error,
            logging::REPLAY,
            &format!("{hook_point}: cannot start the replay thread: {e}"),
        );
    }
}

/// The replay thread: each lease of the snapshot, in the lease manager's order.
fn run(
    engine: &Engine,
    hook_point: HookPoint,
    mut snapshot: LeaseSnapshot,
    keep: fn(&ScriptConfig) -> bool,
) {
    let size = snapshot.len();
    let mut delivered = 0usize;
    let mut failed = 0usize;
    for index in 0..size {
        match snapshot.event(index, hook_point) {
            Ok(event) => {
                if !engine.replay_where(event, &keep) {
                    logging::log(
                        Severity::Info,
                        logging::REPLAY,
                        &format!(
                            "{hook_point}: stopped after {delivered} of {size} leases (unload or reload)"
                        ),
                    );
                    return;
                }
                delivered += 1;
            }
            Err(e) => {
                failed += 1;
                logging::limited(Severity::Error, logging::REPLAY, || {
                    format!("{hook_point}: lease {index} not replayed: {e}")
                });
            }
        }
    }
    logging::log(
        Severity::Info,
        logging::REPLAY,
        &format!(
            "{hook_point}: replay done, {delivered} of {size} leases delivered, {failed} failed"
        ),
    );
}
