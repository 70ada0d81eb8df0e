//! Which scripts run at which hook point. Pure.

use kea_runscript_env::HookPoint;

use crate::config::Config;

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
