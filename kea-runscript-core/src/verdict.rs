//! [`Verdict`]: what Kea should do after a hook point, and how several combine; a
//! [`Decision`]: a verdict with the data its answer carried. Pure; the lowest layer the
//! configuration, the runners and the engine share.

use crate::answer::AnswerData;

/// What Kea should do next after a hook point, from the scripts' exit codes.
/// Ordered by severity: `Continue < Skip < Drop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
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
    ///
    /// ```
    /// use kea_runscript_core::Verdict;
    ///
    /// assert_eq!(Verdict::combine([Verdict::Skip, Verdict::Continue]), Verdict::Skip);
    /// assert_eq!(Verdict::combine([]), Verdict::Continue);
    /// ```
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

/// What the sync scripts at a hook point decided: the verdict, and the data their answers
/// carried ([`AnswerData`]: classes, a host name, …; empty for most answers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// What Kea should do next.
    pub verdict: Verdict,
    /// What the answers asked Kea to use.
    pub data: AnswerData,
}

impl From<Verdict> for Decision {
    fn from(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            data: AnswerData::default(),
        }
    }
}

impl Decision {
    /// Adds the decision of the next script in configuration order: the most severe
    /// verdict wins; the data merge ([`AnswerData::merge`]).
    pub fn add(&mut self, next: Decision) {
        self.verdict = self.verdict.max(next.verdict);
        self.data.merge(next.data);
    }

    /// Combines the decisions of several sync scripts, in configuration order.
    pub fn combine(decisions: impl IntoIterator<Item = Decision>) -> Decision {
        let mut combined = Decision::default();
        for decision in decisions {
            combined.add(decision);
        }
        combined
    }
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
}
