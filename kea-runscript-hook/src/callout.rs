//! One callout: selection, status check, extraction, scripts, verdict.

use kea_hook::{Callout, NextStep};
use kea_runscript_core::config::ScriptConfig;
use kea_runscript_core::{DeferredEvent, Engine};
use kea_runscript_env::{Event, HookPoint, Profile};

use crate::expressions::Expressions;
use crate::{answer, logging, stats, verdict};
use kea_runscript_core::log::Severity;

/// Runs `engine`'s scripts for the event of `callout` and applies their verdict (or parks the
/// query until it comes).
pub fn run(
    engine: &Engine,
    expressions: Option<&Expressions>,
    callout: &mut Callout<'_>,
) -> Result<(), String> {
    run_where(engine, expressions, callout, &|_| true)
}

/// [`run`] for the scripts that `keep` keeps (e.g. an expiry this server of an HA pair
/// does not report goes only to scripts without `ha.expire-once`).
pub fn run_where(
    engine: &Engine,
    expressions: Option<&Expressions>,
    callout: &mut Callout<'_>,
    keep: &dyn Fn(&ScriptConfig) -> bool,
) -> Result<(), String> {
    let hook_point = callout.hook_point();
    // Only selected hook points are registered, but when the same file is listed twice Kea
    // shares one instance, and the first entry's callouts then serve the second entry's
    // engine: an unselected hook point returns before anything crosses into C++.
    if !engine.wants_where(hook_point, keep) {
        return Ok(());
    }
    // Another library already decided; Kea's hook does nothing then either.
    if matches!(callout.next_step()?, NextStep::Skip | NextStep::Drop) {
        return Ok(());
    }
    let event = event(engine, callout).map_err(|e| e.to_string())?;
    // A parked handle stays valid and unchanged until it is resumed, so the expressions are
    // evaluated on it while the engine renders, whichever path is taken.
    if engine.waits_for_verdict(hook_point) {
        if let Some(parked) = callout.park()? {
            let callout = &*callout;
            let additions = |index: usize| match expressions {
                Some(expressions) => expressions.evaluate(index, callout),
                None => Vec::new(),
            };
            engine.decide_adding_with(
                event,
                &additions,
                Box::new(move |decision| verdict::resolve_parked(hook_point, parked, decision)),
            );
            // The events and starts counted so far; the runs' ends are published when
            // their queries are resolved on Kea's IO service.
            return stats::publish(engine);
        }
    }
    let decision = {
        let callout = &*callout;
        let additions = |index: usize| match expressions {
            Some(expressions) => expressions.evaluate(index, callout),
            None => Vec::new(),
        };
        engine.decide_where(event, &additions, keep)
    };
    // The data first: a verdict of drop or skip makes Kea ignore it anyway.
    answer::apply(&decision.data, callout).map_err(|e| format!("applying the answer: {e}"))?;
    verdict::apply(decision.verdict, callout).map_err(|e| format!("setting the next step: {e}"))?;
    stats::publish(engine)
}

/// The event of `callout` for `engine`'s scripts: copies now, read into the model where
/// first needed; read at once when what is added from Kea depends on the arguments.
fn event(engine: &Engine, callout: &Callout<'_>) -> Result<DeferredEvent, kea_hook::ExtractError> {
    let hook_point = callout.hook_point();
    let kea_texts = engine.wants_profile(hook_point, Profile::KeaHookRunscript);
    let hosts = engine.wants_host_reservation(hook_point);
    if kea_texts || hosts {
        let mut event = callout.event()?;
        if kea_texts {
            callout.add_kea_texts(&mut event)?;
        }
        if hosts {
            callout.add_host_reservations(&mut event)?;
        }
        return Ok(event.into());
    }
    let records = callout.records()?;
    let copied = records.copied_bytes();
    Ok(DeferredEvent::new(hook_point, move || {
        records.into_event().unwrap_or_else(|e| {
            logging::limited(Severity::Error, logging::CALLOUT_ERROR, || {
                format!("callout {hook_point}: {e}; its scripts get no arguments")
            });
            no_arguments(hook_point)
        })
    })
    .with_copied_bytes(copied))
}

/// An event without arguments, from the Kea release built against.
fn no_arguments(hook_point: HookPoint) -> Event {
    let mut event = Event::new(hook_point);
    event.kea_version = kea_hook::KEA_VERSION;
    event
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use cxx::UniquePtr;
    use kea_hook::testing::{self, ffi as kea};
    use kea_hook::CalloutHandle;
    use kea_runscript_core::log::StderrSink;

    use super::*;

    /// A directory for this test's scripts, removed when dropped.
    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    /// An executable `/bin/sh` script with `body` in `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn engine(parameters: String) -> Engine {
        Engine::from_json(&parameters, Arc::new(StderrSink)).expect("valid parameters")
    }

    /// A sync engine running `path` at `hook_point`, exit 3 → skip, 4 → drop.
    fn sync_engine(path: &Path, hook_point: HookPoint) -> Engine {
        engine(format!(
            r#"{{"name": "{}", "sync": true, "hook-points": ["{}"], "exit-codes": {{"3": "skip", "4": "drop"}}}}"#,
            path.display(),
            hook_point.name()
        ))
    }

    fn query4_handle() -> UniquePtr<CalloutHandle> {
        let mut handle = kea::new_test_handle().unwrap();
        kea::set_test_pkt4(handle.pin_mut(), "query4").unwrap();
        kea::set_test_subnet4(handle.pin_mut(), "subnet4").unwrap();
        kea::set_test_bool(handle.pin_mut(), "fake_allocation", false).unwrap();
        kea::set_test_lease4(handle.pin_mut(), "lease4", 10).unwrap();
        handle
    }

    /// Runs one callout of `engine` on `handle` and returns Kea's resulting next step.
    fn run_on(
        engine: &Engine,
        hook_point: HookPoint,
        handle: &mut UniquePtr<CalloutHandle>,
    ) -> NextStep {
        let mut callout = testing::callout(handle, hook_point);
        assert_eq!(run(engine, None, &mut callout), Ok(()));
        callout.next_step().unwrap()
    }

    #[test]
    fn sync_verdicts_set_kea_next_step_where_kea_honours_them() {
        let dir = scratch();
        let drop = script(
            dir.path(),
            "drop.sh",
            "test \"$QUERY4_HWADDR\" = 00:0c:01:02:03:04 && exit 4; exit 0",
        );
        let skip = script(dir.path(), "skip.sh", "exit 3");
        let mut handle = query4_handle();
        let engine4 = sync_engine(&drop, HookPoint::Pkt4Receive);
        assert_eq!(
            run_on(&engine4, HookPoint::Pkt4Receive, &mut handle),
            NextStep::Drop
        );

        // Kea ignores DROP at lease4_select: the status stays CONTINUE.
        let mut handle = query4_handle();
        let engine_select = sync_engine(&drop, HookPoint::Lease4Select);
        assert_eq!(
            run_on(&engine_select, HookPoint::Lease4Select, &mut handle),
            NextStep::Continue
        );

        let mut handle = query4_handle();
        let engine_skip = sync_engine(&skip, HookPoint::Lease4Select);
        assert_eq!(
            run_on(&engine_skip, HookPoint::Lease4Select, &mut handle),
            NextStep::Skip
        );
        for engine in [engine4, engine_select, engine_skip] {
            engine.shutdown();
        }
    }

    #[test]
    fn a_callout_does_nothing_when_another_library_set_skip_or_drop() {
        let dir = scratch();
        let marker = dir.path().join("ran");
        let touch = script(
            dir.path(),
            "touch.sh",
            &format!("touch {}", marker.display()),
        );
        let engine = sync_engine(&touch, HookPoint::Pkt4Receive);
        let mut handle = query4_handle();
        testing::callout(&mut handle, HookPoint::Pkt4Receive)
            .set_next_step(NextStep::Skip)
            .unwrap();
        assert_eq!(
            run_on(&engine, HookPoint::Pkt4Receive, &mut handle),
            NextStep::Skip
        );
        assert!(!marker.exists(), "the script must not run");

        let mut handle = query4_handle();
        assert_eq!(
            run_on(&engine, HookPoint::Pkt4Receive, &mut handle),
            NextStep::Continue
        );
        assert!(
            marker.exists(),
            "the script runs when the status is CONTINUE"
        );
        engine.shutdown();
    }

    #[test]
    fn an_unselected_hook_point_reads_no_argument() {
        let dir = scratch();
        let engine = sync_engine(
            &script(dir.path(), "true.sh", "exit 0"),
            HookPoint::Pkt4Receive,
        );
        let mut handle = kea::new_test_handle().unwrap();
        // Reading this would fail (wrong type): success proves nothing was extracted.
        kea::set_test_wrong_type(handle.pin_mut(), "query4").unwrap();
        assert_eq!(
            run_on(&engine, HookPoint::Pkt4Send, &mut handle),
            NextStep::Continue
        );
        let mut callout = testing::callout(&mut handle, HookPoint::Pkt4Receive);
        let error = run(&engine, None, &mut callout).unwrap_err();
        assert!(error.contains("query4"), "{error}");
        engine.shutdown();
    }
}
