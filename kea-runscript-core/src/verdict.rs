//! [`Verdict`]: what Kea should do after a hook point, and how several combine. Pure;
//! the lowest layer the configuration, the runners and the engine share.

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
