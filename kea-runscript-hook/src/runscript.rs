//! [`RunScript`]: this library as a [`kea_hook::Hook`] — the parameters become an
//! [`Engine`], whose scripts run at the callouts it registers.

use std::sync::Arc;

use kea_hook::{Callout, EntryPoint, Hook, Library, SrvConfigured};
use kea_runscript_core::config::Family;
use kea_runscript_core::log::Severity;
use kea_runscript_core::{Config, Engine};
use kea_runscript_env::{Event, HookPoint, KeaVersion};

use crate::expressions::{self, Expressions};
use crate::ha::{self, HaFollower};
use crate::{callout, logging, replay, stats};
use kea_runscript_core::ha as core_ha;

/// The loaded library: one configuration's engine and the Kea expressions of its scripts.
pub struct RunScript {
    engine: Arc<Engine>,
    expressions: Option<Expressions>,
    /// The HA pair, when a script has `"ha"`.
    ha: Option<Arc<HaFollower>>,
}

impl Hook for RunScript {
    const LOGGER: &'static str = logging::LOGGER;

    fn message_ids() -> Vec<&'static str> {
        logging::all_message_ids().collect()
    }

    fn check_parameters(parameters: &str) -> Result<(), String> {
        checked_config(parameters).map(drop)
    }

    fn load(library: &mut Library<'_>) -> Result<Self, String> {
        let parameters = library.parameters()?;
        let (config, expressions) = checked_config(&parameters)?;
        // In load only, as Kea 3.0's own hook checks it: `kea-dhcp4 -t` passes, a start fails.
        for script in &config.scripts {
            let path = script.path.to_string_lossy();
            kea_hook::check_script_path(&path).map_err(|e| format!("script {path}: {e}"))?;
        }
        let engine = Engine::new(config, Arc::new(logging::KeaLog)).map_err(|e| e.to_string())?;
        // Only the hook points the scripts selected: Kea does work for every hook point that
        // has a callout, so a callout that returns at once still costs Kea on every packet.
        let family = match expressions::server_family()? {
            Family::V6 => 6,
            _ => 4,
        };
        let ha = HaFollower::new(&engine, family, &library.configured_libraries()).map(Arc::new);
        for &hook_point in HookPoint::ALL {
            // With "ha", command_processed is where the partner's lease changes and
            // heartbeats are seen, whichever hook points the scripts chose.
            let for_ha = ha.is_some() && hook_point == HookPoint::CommandProcessed;
            if hook_point.is_callout() && (engine.wants(hook_point) || for_ha) {
                library.register(hook_point)?;
            }
        }
        let registered = library.registered();
        // Not the parameters themselves: their "env" may carry secrets.
        logging::log(
            Severity::Info,
            logging::LOAD,
            &format!(
                "loaded, {} script(s), hooks API {}, callouts at: {}",
                engine.config().scripts.len(),
                kea_hook::hooks_version(),
                if registered.is_empty() {
                    "none".to_string()
                } else {
                    registered.join(" ")
                }
            ),
        );
        if parks(&engine) && !library.enable_parking() {
            logging::log(
                Severity::Warn,
                logging::LOAD,
                &format!(
                    "cannot keep the library mapped: packets are not parked, sync scripts at \
                     {} hold Kea's thread",
                    parking_points()
                ),
            );
        }
        stats::reset();
        run_library_event(&engine, HookPoint::Load);
        stats::publish(&engine)?;
        let engine = Arc::new(engine);
        if let Some(ha) = &ha {
            ha.start(Arc::clone(&engine));
        }
        Ok(RunScript {
            engine,
            expressions,
            ha,
        })
    }

    fn callout(&self, callout: &mut Callout<'_>) -> Result<(), String> {
        let hook_point = callout.hook_point();
        if let Some(ha) = &self.ha {
            if hook_point == HookPoint::CommandProcessed {
                ha.command_processed(&self.engine, callout)?;
            } else if ha::is_expiry(hook_point) {
                let responsible = ha.responsible(callout);
                if !responsible
                    && self
                        .engine
                        .wants_where(hook_point, &core_ha::reports_held_expiry)
                {
                    ha.hold(callout.event().map_err(|e| e.to_string())?);
                }
                return callout::run_where(
                    &self.engine,
                    self.expressions.as_ref(),
                    callout,
                    &|script| core_ha::wants_expiry(script, responsible),
                );
            }
        }
        callout::run(&self.engine, self.expressions.as_ref(), callout)
    }

    fn srv_configured(&self, configured: &mut SrvConfigured<'_>) -> Result<(), String> {
        if let Some(ha) = &self.ha {
            ha.configured();
        }
        if let Err(e) = replay::start(Arc::clone(&self.engine), configured) {
            logging::log(
                Severity::Error,
                logging::REPLAY,
                &format!("dhcp{}_srv_configured: {e}", configured.family()),
            );
        }
        Ok(())
    }

    fn parked_query_resolved(&self) -> Result<(), String> {
        stats::publish(&self.engine)
    }

    fn unload(&self, parked_dropped: usize) -> Result<(), String> {
        if parked_dropped > 0 {
            logging::log(
                Severity::Warn,
                logging::UNLOAD,
                &format!(
                    "unload: dropped {parked_dropped} parked packet(s) still waiting for a verdict"
                ),
            );
        }
        run_library_event(&self.engine, HookPoint::Unload);
        self.engine.shutdown();
        stats::publish(&self.engine)?;
        logging::log(Severity::Info, logging::UNLOAD, "unloaded");
        Ok(())
    }

    fn replaced(&self) {
        logging::log(
            Severity::Warn,
            logging::LOAD,
            "loaded again while loaded: only these parameters apply \
             (list several scripts in one \"scripts\" list instead)",
        );
        self.engine.shutdown();
    }

    fn report(entry: EntryPoint, message: &str) {
        match entry {
            EntryPoint::Version => logging::log(
                Severity::Error,
                logging::LOAD_ERROR,
                &format!("invalid configuration: {message}"),
            ),
            EntryPoint::Load => logging::log(
                Severity::Error,
                logging::LOAD_ERROR,
                &format!("load: {message}"),
            ),
            EntryPoint::Callout(_) | EntryPoint::ParkedQueryResolved => {
                logging::limited(Severity::Error, logging::CALLOUT_ERROR, || {
                    format!("{entry}: {message}")
                })
            }
            _ => logging::log(
                Severity::Error,
                logging::CALLOUT_ERROR,
                &format!("{entry}: {message}"),
            ),
        }
    }
}

/// The parameters checked as `load` needs them: core's checks, those that depend on the
/// server's family, and Kea's parse of every expression (returned for use).
fn checked_config(parameters: &str) -> Result<(Config, Option<Expressions>), String> {
    let config = Config::load(parameters).map_err(|e| e.to_string())?;
    check_kea_version(&config, kea_hook::KEA_VERSION)?;
    let family = expressions::server_family()?;
    config.check_family(family).map_err(|e| e.to_string())?;
    let expressions = if config.has_expressions() {
        Some(Expressions::parse(&config, family).map_err(|e| e.to_string())?)
    } else {
        None
    };
    Ok((config, expressions))
}

/// Runs the script(s) for a `load`/`unload` event, if the configuration selects that hook point.
fn run_library_event(engine: &Engine, hook_point: HookPoint) {
    if engine.wants(hook_point) {
        let mut event = Event::new(hook_point);
        event.kea_version = kea_hook::KEA_VERSION;
        let _ = engine.handle(event);
    }
}

/// Errs, naming the script's hook point and the running Kea, when a script selects an opt-in
/// hook point this Kea release never calls (`lease4_offer` on Kea 2.2): such a configuration
/// would silently never run it. The default set's points (Kea 3.0's `addr6_register`) stay
/// accepted on every release, as Kea's own hook accepts them.
fn check_kea_version(config: &Config, kea: KeaVersion) -> Result<(), String> {
    for (index, script) in config.scripts.iter().enumerate() {
        let missing = script
            .hook_points
            .iter()
            .find(|hp| !hp.kea_default() && !hp.called_by(kea));
        if let Some(hp) = missing {
            return Err(format!(
                "parameter 'hook-points' of script {} (scripts[{index}]): \"{hp}\" is called \
                 by Kea {} and later; this Kea is {kea}, which never calls it",
                script.path.display(),
                hp.min_kea_version()
            ));
        }
    }
    Ok(())
}

/// True when `engine` has a sync script where Kea lets a callout park the packet.
fn parks(engine: &Engine) -> bool {
    HookPoint::ALL
        .iter()
        .any(|&hook_point| hook_point.parks() && engine.waits_for_verdict(hook_point))
}

/// The hook points where Kea lets a callout park, for messages (`leases4_committed/…`).
fn parking_points() -> String {
    let names: Vec<&str> = HookPoint::ALL
        .iter()
        .filter(|hp| hp.parks())
        .map(|hp| hp.name())
        .collect();
    names.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hook_points: &str) -> Config {
        Config::load(&format!(
            r#"{{"scripts": [{{"name": "/bin/true", "trust-check": false}},
                {{"name": "/bin/true", "trust-check": false, "hook-points": {hook_points}}}]}}"#
        ))
        .expect("a valid configuration")
    }

    #[test]
    fn a_hook_point_this_kea_never_calls_is_refused_naming_both() {
        let v = KeaVersion::from_hooks_version;
        let offer = config(r#"["pkt4_receive", "lease4_offer"]"#);
        let error = check_kea_version(&offer, v(20200)).unwrap_err();
        assert_eq!(
            error,
            "parameter 'hook-points' of script /bin/true (scripts[1]): \"lease4_offer\" is \
             called by Kea 2.6.0 and later; this Kea is 2.2.0, which never calls it"
        );
        let decline = config(r#"["lease4_server_decline"]"#);
        assert!(check_kea_version(&decline, v(20200))
            .unwrap_err()
            .contains("\"lease4_server_decline\""));
        assert_eq!(check_kea_version(&offer, v(20603)), Ok(()));
        assert_eq!(check_kea_version(&decline, v(30004)), Ok(()));
        // Kea 3.0's addr6_register is in the default set: accepted on 2.2 as before, named
        // or by default (the first script).
        let register = config(r#"["addr6_register", "ddns4_update", "host6_identifier"]"#);
        assert_eq!(check_kea_version(&register, v(20200)), Ok(()));
    }
}
