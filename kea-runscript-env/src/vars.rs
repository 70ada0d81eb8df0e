//! [`Vars`]: rendered variables as `NAME=value\0` entries back to back in one buffer.

use crate::Text;

/// Ordered `(NAME, value)` variables stored as `NAME=value\0` entries back to back in one
/// buffer: the layout `execve` takes, built without an allocation per variable (rendering
/// runs on Kea's packet thread for every event).
///
/// Entries are stored as given; [`Vars::retain_valid`] removes those `execve` cannot take.
///
/// ```
/// use kea_runscript_env::Vars;
///
/// let mut vars = Vars::default();
/// vars.push(b"A", b"1");
/// vars.push(b"B=C", b"2");
/// assert_eq!(vars.retain_valid(), ["B=C"]);
/// assert_eq!(vars.pairs().collect::<Vec<_>>(), [(&b"A"[..], &b"1"[..])]);
/// assert_eq!(vars.entries().next(), Some(&b"A=1\0"[..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    /// `NAME=value\0` entries, back to back.
    buf: Vec<u8>,
    /// Per entry: where it starts in `buf`, and the length of `NAME`.
    entries: Vec<(usize, usize)>,
}

impl Vars {
    /// Empty, with room for `vars` variables of `bytes` bytes in all.
    pub fn with_capacity(vars: usize, bytes: usize) -> Vars {
        Vars {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(vars),
        }
    }

    /// `pairs` in their order.
    pub fn from_pairs<N: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> Vars {
        let bytes = pairs
            .iter()
            .map(|(n, v)| n.as_ref().len() + v.as_ref().len() + 2)
            .sum();
        let mut vars = Vars::with_capacity(pairs.len(), bytes);
        for (name, value) in pairs {
            vars.push(name.as_ref(), value.as_ref());
        }
        vars
    }

    /// Appends `name` = `value`.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.push_parts(&[name], value);
    }

    /// Appends the variable whose name is `name_parts` joined (a prefix and a suffix: no
    /// name is allocated on its own).
    pub(crate) fn push_parts(&mut self, name_parts: &[&[u8]], value: &[u8]) {
        let start = self.buf.len();
        for part in name_parts {
            self.buf.extend_from_slice(part);
        }
        self.entries.push((start, self.buf.len() - start));
        self.buf.push(b'=');
        self.buf.extend_from_slice(value);
        self.buf.push(0);
    }

    /// The number of variables.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The variables as `(NAME, value)` byte pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries()
            .zip(&self.entries)
            .map(|(entry, &(_, name_len))| {
                (&entry[..name_len], &entry[name_len + 1..entry.len() - 1])
            })
    }

    /// The entries as stored: `NAME=value\0`, each with its NUL (a pointer to one is a C
    /// string as long as `self` is neither changed nor dropped).
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.entries.len()).map(|i| &self.buf[self.entries[i].0..self.end_of(i)])
    }

    /// Where entry `i` ends (after its NUL): the entries lie back to back, so where the
    /// next one starts.
    fn end_of(&self, i: usize) -> usize {
        self.entries
            .get(i + 1)
            .map_or(self.buf.len(), |&(next, _)| next)
    }

    /// True when a variable `name` is among them.
    pub fn has(&self, name: &[u8]) -> bool {
        self.pairs().any(|(n, _)| n == name)
    }

    /// Removes the variables `execve` cannot take (an empty name, `=` or NUL in the name,
    /// NUL in the value) and returns their names. Costs one scan when all are valid.
    pub fn retain_valid(&mut self) -> Vec<String> {
        let valid = |(name, value): (&[u8], &[u8])| {
            !name.is_empty() && !name.iter().any(|&b| b == b'=' || b == 0) && !value.contains(&0)
        };
        if self.pairs().all(valid) {
            return Vec::new();
        }
        let mut kept = Vars::with_capacity(self.len(), self.buf.len());
        let mut rejected = Vec::new();
        for (name, value) in self.pairs() {
            if valid((name, value)) {
                kept.push(name, value);
            } else {
                rejected.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        *self = kept;
        rejected
    }

    /// The variables as owned `(NAME, value)` pairs.
    pub fn to_pairs(&self) -> Vec<(String, Text)> {
        self.pairs()
            .map(|(name, value)| (String::from_utf8_lossy(name).into_owned(), value.into()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_entries_and_empty_values_round_trip() {
        let vars = Vars::from_pairs(&[("A", ""), ("B", "x=y"), ("C", "")]);
        assert_eq!(
            vars.pairs().collect::<Vec<_>>(),
            [
                (&b"A"[..], &b""[..]),
                (&b"B"[..], &b"x=y"[..]),
                (&b"C"[..], &b""[..])
            ]
        );
        assert_eq!(
            vars.entries().collect::<Vec<_>>(),
            [&b"A=\0"[..], b"B=x=y\0", b"C=\0"]
        );
        assert!(vars.has(b"B") && !vars.has(b"x"));
        assert_eq!(vars.to_pairs()[1], ("B".to_string(), "x=y".into()));
    }

    #[test]
    fn retain_valid_keeps_order_and_names_the_rest() {
        let mut vars = Vars::from_pairs(&[
            (&b"A"[..], &b"1"[..]),
            (b"", b"2"),
            (b"N\0", b"3"),
            (b"B", b"v\0w"),
            (b"C", b"4"),
        ]);
        assert_eq!(vars.retain_valid(), ["", "N\0", "B"]);
        assert_eq!(
            vars.entries().collect::<Vec<_>>(),
            [&b"A=1\0"[..], b"C=4\0"]
        );
    }
}
