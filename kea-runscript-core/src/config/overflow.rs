//! The overflow policy of one async script (`overflow`, `merge-budget-bytes`,
//! `block-ms`): what happens to an event when the script's bounds are full. Kept in its
//! own module so that the rest of the configuration does not depend on its details.

use std::time::Duration;

use super::raw::{OverflowPolicy, Positive};

/// Default `merge-budget-bytes`: the estimated bytes of the events one script may hold
/// waiting under `merge` (see `docs/configuration.md`).
pub const DEFAULT_MERGE_BUDGET_BYTES: usize = 32 * 1024 * 1024;
/// Default `block-ms`: how long a Kea thread waits for room under `block` (and under
/// `merge` past its budget) before the event is dropped.
pub const DEFAULT_BLOCK: Duration = Duration::from_millis(1000);

/// What happens to an async event that finds the script's bounds full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// `"merge"` (default): below `max-queued` waiting events every event is kept, as
    /// under the other policies; from there on a new event replaces the waiting one of
    /// its lease (counted `merged`), or, with none, still waits while the events fit in
    /// `merge-budget-bytes`; past that, as [`Overflow::Block`].
    Merge,
    /// `"block"`: the Kea thread waits for room, at most `block-ms`; then the event is
    /// dropped.
    Block,
    /// `"drop"`: the event is dropped at once (counted, logged).
    Drop,
}

impl Overflow {
    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Merge => "merge",
            Overflow::Block => "block",
            Overflow::Drop => "drop",
        }
    }
}

/// The overflow settings of one script (only async scripts queue events; a sync script
/// keeps the defaults, which it never uses).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OverflowSettings {
    /// The policy (`overflow`).
    pub policy: Overflow,
    /// Under `merge`: the estimated bytes of waiting events (`merge-budget-bytes`).
    pub merge_budget_bytes: usize,
    /// Under `block`, and under `merge` past the budget: the longest wait (`block-ms`).
    pub block: Duration,
}

impl Default for OverflowSettings {
    fn default() -> Self {
        OverflowSettings {
            policy: Overflow::Merge,
            merge_budget_bytes: DEFAULT_MERGE_BUDGET_BYTES,
            block: DEFAULT_BLOCK,
        }
    }
}

impl OverflowSettings {
    /// The byte budget of the waiting events (`usize::MAX` unless `merge`).
    pub fn byte_budget(&self) -> usize {
        if self.policy == Overflow::Merge {
            self.merge_budget_bytes
        } else {
            usize::MAX
        }
    }

    /// Whether a full script makes the caller wait (`block`, and `merge` past its
    /// budget).
    pub fn blocks(&self) -> bool {
        self.policy != Overflow::Drop
    }

    /// For the load log line.
    pub fn summary(&self) -> String {
        match self.policy {
            Overflow::Merge => format!(
                "overflow=merge merge-budget-bytes={} block-ms={}",
                self.merge_budget_bytes,
                self.block.as_millis()
            ),
            Overflow::Block => format!("overflow=block block-ms={}", self.block.as_millis()),
            Overflow::Drop => "overflow=drop".to_owned(),
        }
    }
}

/// The raw `overflow`, `merge-budget-bytes` and `block-ms` of one script.
type RawOverflow = (Option<OverflowPolicy>, Option<Positive>, Option<Positive>);

/// A bad overflow key: the key and what is wrong (the caller names the script).
pub(super) type KeyError = (&'static str, &'static str);

/// Reads the overflow keys of a script;
/// `max-queued`); `sync`: they are errors there.
pub(super) fn parse(
    (overflow, merge_budget_bytes, block_ms): RawOverflow,
    sync: bool,
) -> Result<OverflowSettings, KeyError> {
    let given = [
        ("overflow", overflow.is_some()),
        ("merge-budget-bytes", merge_budget_bytes.is_some()),
        ("block-ms", block_ms.is_some()),
    ];
    if sync {
        if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
            return Err((
                key,
                "only valid with sync: false (a sync event is never merged, blocked or dropped)",
            ));
        }
    }
    let policy = match overflow {
        None | Some(OverflowPolicy::Merge) => Overflow::Merge,
        Some(OverflowPolicy::Block) => Overflow::Block,
        Some(OverflowPolicy::Drop) => Overflow::Drop,
    };
    if merge_budget_bytes.is_some() && policy != Overflow::Merge {
        return Err(("merge-budget-bytes", "only valid with overflow: \"merge\""));
    }
    if block_ms.is_some() && policy == Overflow::Drop {
        return Err((
            "block-ms",
            "only valid with overflow: \"merge\" or \"block\"",
        ));
    }
    Ok(OverflowSettings {
        policy,
        merge_budget_bytes: merge_budget_bytes.map_or(DEFAULT_MERGE_BUDGET_BYTES, |n| n.0 as usize),
        block: block_ms.map_or(DEFAULT_BLOCK, |n| Duration::from_millis(n.0.into())),
    })
}
