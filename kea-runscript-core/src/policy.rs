//! Which scripts run at which hook point, and how verdicts combine. Pure.

use kea_runscript_env::HookPoint;

use crate::config::Config;

/// What Kea should do next after a hook point, from the scripts' exit codes.
/// Ordered by severity: `Continue < Skip < Drop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Verdict {
    /// Go on normally (Kea's `NEXT_STEP_CONTINUE`).
    #[default]
    Continue,
    /// Skip Kea's own processing of this step (`NEXT_STEP_SKIP`).
    Skip,
    /// Drop the packet (`NEXT_STEP_DROP`).
    Drop,
}

impl Verdict {
    /// Combines verdicts of several sync scripts: the most severe wins;
    /// no verdict at all is `Continue`.
    pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts.into_iter().max().unwrap_or(Verdict::Continue)
    }

    /// The configuration spelling: `continue`, `skip`, `drop`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Continue => "continue",
            Verdict::Skip => "skip",
            Verdict::Drop => "drop",
        }
    }
}

/// Precomputed table: for each hook point, the indexes (configuration order) of the
/// scripts that run there. Lookup is O(1).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    by_hook_point: Vec<Vec<usize>>,
}

impl Policy {
    /// Builds the table from the scripts' `hook-points`.
    pub fn new(config: &Config) -> Policy {
        let mut by_hook_point = vec![Vec::new(); HookPoint::ALL.len()];
        for (index, script) in config.scripts.iter().enumerate() {
            for &hp in &script.hook_points {
                by_hook_point[slot(hp)].push(index);
            }
        }
        Policy { by_hook_point }
    }

    /// Indexes of the scripts selected at `hook_point`, in configuration order.
    pub fn scripts(&self, hook_point: HookPoint) -> &[usize] {
        self.by_hook_point
            .get(slot(hook_point))
            .map_or(&[], Vec::as_slice)
    }

    /// True when at least one script runs at `hook_point`.
    pub fn wants(&self, hook_point: HookPoint) -> bool {
        !self.scripts(hook_point).is_empty()
    }
}

/// The table slot of a hook point: its declaration index (`HookPoint::ALL` is in
/// declaration order, which kea-runscript-env tests).
fn slot(hook_point: HookPoint) -> usize {
    hook_point as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_severe_verdict_wins() {
        use Verdict::*;
        let table = [
            (vec![], Continue),
            (vec![Continue], Continue),
            (vec![Continue, Skip], Skip),
            (vec![Skip, Continue], Skip),
            (vec![Drop, Skip, Continue], Drop),
            (vec![Continue, Drop], Drop),
        ];
        for (verdicts, expected) in table {
            assert_eq!(Verdict::combine(verdicts.clone()), expected, "{verdicts:?}");
        }
    }

    #[test]
    fn table_selects_scripts_per_hook_point() {
        let config = Config::parse(
            r#"{"scripts": [
                {"name": "/a"},
                {"name": "/b", "hook-points": ["pkt4_receive", "lease4_renew"]},
                {"name": "/c", "sync": true, "hook-points": ["pkt4_receive"]}
            ]}"#,
        )
        .unwrap();
        let policy = Policy::new(&config);
        assert_eq!(policy.scripts(HookPoint::Lease4Renew), &[0, 1]);
        assert_eq!(policy.scripts(HookPoint::Pkt4Receive), &[1, 2]);
        assert_eq!(policy.scripts(HookPoint::Lease6Decline), &[0]);
        assert!(!policy.wants(HookPoint::Pkt6Send));
        for &hp in HookPoint::ALL {
            assert_eq!(
                policy.wants(hp),
                hp.kea_default() || hp == HookPoint::Pkt4Receive
            );
        }
    }
}
