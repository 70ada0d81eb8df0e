//! Which sync verdicts Kea 2.2 honours at which hook point, and applying them.
//!
//! Where Kea acts on which status is a column of the hook-point table in `kea-runscript-env`
//! (it follows Kea's code, not only its documentation); README.md carries the same table with
//! what each status means there, and a test keeps the two equal.

use kea_hook::{Callout, NextStep, Parked};
use kea_runscript_core::log::Severity;
use kea_runscript_core::{Decision, Verdict};
use kea_runscript_env::HookPoint;

use crate::logging;

/// Whether Kea acts on (skip, drop) set by a callout at `hook_point`: the `skip` and `drop`
/// columns of the hook-point table ([`HookPoint::next_steps`]).
pub fn honours(hook_point: HookPoint) -> (bool, bool) {
    let steps = hook_point.next_steps();
    (steps.skip, steps.drop)
}

/// The next-step status for `verdict` at `hook_point`, or `None` when the verdict is
/// Continue or Kea would ignore it there.
pub fn next_step(hook_point: HookPoint, verdict: Verdict) -> Option<NextStep> {
    let (skip, drop) = honours(hook_point);
    match verdict {
        Verdict::Skip if skip => Some(NextStep::Skip),
        Verdict::Drop if drop => Some(NextStep::Drop),
        // Continue, a verdict Kea ignores here, or one core added after this was written:
        // no next step (`apply` logs every one but Continue as ignored).
        _ => None,
    }
}

/// Sets Kea's next step for a sync verdict, or logs that Kea would ignore it here.
pub fn apply(verdict: Verdict, callout: &mut Callout<'_>) -> Result<(), kea_hook::Error> {
    if verdict == Verdict::Continue {
        return Ok(());
    }
    let hook_point = callout.hook_point();
    match next_step(hook_point, verdict) {
        Some(step) => {
            callout.set_next_step(step)?;
            logging::limited(Severity::Debug, logging::VERDICT_APPLIED, || {
                format!("{}: verdict {verdict:?} applied", hook_point.name())
            });
        }
        None => logging::limited(Severity::Warn, logging::VERDICT_NOT_APPLICABLE, || {
            format!(
                "{}: verdict {verdict:?} ignored, Kea does not honour it at this hook point",
                hook_point.name()
            )
        }),
    }
    Ok(())
}

/// The combined decision for a query parked at `hook_point`: drop drops it, anything else
/// resumes it (Kea honours no skip at the hook points that park), after the answers' data
/// was set on it (`lease4_offer`: the offered address in use).
pub fn resolve_parked(hook_point: HookPoint, parked: Parked, decision: Decision) {
    let verdict = decision.verdict;
    if verdict != Verdict::Drop {
        if let Err(e) = crate::answer::apply_parked(&decision.data, &parked) {
            logging::limited(Severity::Error, logging::CALLOUT_ERROR, || {
                format!("{}: applying the answer: {e}", hook_point.name())
            });
        }
    }
    let resolved = match verdict {
        Verdict::Drop => parked.drop_query(),
        Verdict::Continue => parked.resume(),
        // Skip, or a verdict core added after this was written: Kea has nothing else to
        // do with a parked query than resume it, and the log says so.
        other => {
            logging::limited(Severity::Warn, logging::VERDICT_NOT_APPLICABLE, || {
                format!(
                    "{}: verdict {other:?} ignored, Kea does not honour it at this hook point: unparked",
                    hook_point.name()
                )
            });
            parked.resume()
        }
    };
    if let Err(e) = resolved {
        logging::limited(Severity::Error, logging::CALLOUT_ERROR, || {
            format!("{}: {e}", hook_point.name())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README.md's verdict table: (hook point name, skip honoured, drop honoured) per row.
    fn readme_table() -> Vec<(String, bool, bool)> {
        const README: &str = include_str!("../README.md");
        let honoured = |cell: &str| !cell.trim().starts_with('—');
        README
            .lines()
            .filter(|line| line.starts_with("| `"))
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').collect();
                let skip = *cells.get(3)?;
                let drop = *cells.get(4)?;
                let names = cells[1];
                Some(
                    names
                        .split(',')
                        .map(|name| {
                            (
                                name.trim().trim_matches('`').to_string(),
                                honoured(skip),
                                honoured(drop),
                            )
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .filter(|(name, _, _)| name.parse::<HookPoint>().is_ok())
            .collect()
    }

    #[test]
    fn readme_verdict_table_matches_the_code() {
        let table = readme_table();
        for &hp in HookPoint::ALL {
            let row = table
                .iter()
                .find(|(name, _, _)| name == hp.name())
                .unwrap_or_else(|| panic!("{} missing from README.md's verdict table", hp.name()));
            assert_eq!(
                (row.1, row.2),
                honours(hp),
                "README.md row for {}",
                hp.name()
            );
        }
        assert_eq!(
            table.len(),
            HookPoint::ALL.len(),
            "README.md lists a hook point twice"
        );
    }

    #[test]
    fn continue_never_sets_a_status() {
        for &hp in HookPoint::ALL {
            assert_eq!(next_step(hp, Verdict::Continue), None, "{}", hp.name());
        }
    }

    #[test]
    fn drop_maps_to_kea_drop_where_honoured() {
        assert_eq!(
            next_step(HookPoint::Pkt4Receive, Verdict::Drop),
            Some(NextStep::Drop)
        );
        assert_eq!(
            next_step(HookPoint::Leases4Committed, Verdict::Drop),
            Some(NextStep::Drop)
        );
        assert_eq!(next_step(HookPoint::Lease4Select, Verdict::Drop), None);
        assert_eq!(
            next_step(HookPoint::Lease4Select, Verdict::Skip),
            Some(NextStep::Skip)
        );
        assert_eq!(next_step(HookPoint::Pkt6Send, Verdict::Skip), None);
        assert_eq!(next_step(HookPoint::Load, Verdict::Drop), None);
    }
}
