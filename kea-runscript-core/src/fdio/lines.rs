//! Splitting a byte stream into lines with a bounded buffer. Pure.
//!
//! A process may print without ever writing a newline; the splitter keeps at most
//! `max` bytes of a line and reports the rest as cut, so its memory stays bounded
//! whatever the other side writes.

/// One piece of output found by [`LineSplitter::feed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A whole line (without `\n`).
    Line(&'a [u8]),
    /// The first `max` bytes of a line longer than that; the rest of the line, up to
    /// its newline, is skipped.
    Cut(&'a [u8]),
}

/// Splits fed bytes into lines of at most `max` bytes.
#[derive(Debug)]
pub struct LineSplitter {
    max: usize,
    buf: Vec<u8>,
    /// Inside a line that was already reported as cut: skip to its newline.
    skipping: bool,
}

impl LineSplitter {
    /// A splitter keeping at most `max` bytes of one line.
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            max,
            buf: Vec::new(),
            skipping: false,
        }
    }

    /// Feeds `bytes`, calling `each` for every complete (or cut) line, in order.
    pub fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(Piece<'_>)) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let (chunk, rest, ends) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if self.skipping {
                self.skipping = !ends;
                continue;
            }
            if ends && self.buf.is_empty() && chunk.len() <= self.max {
                each(Piece::Line(chunk));
                continue;
            }
            let room = self.max - self.buf.len();
            if chunk.len() > room {
                self.buf.extend_from_slice(&chunk[..room]);
                each(Piece::Cut(&self.buf));
                self.buf.clear();
                self.skipping = !ends;
                continue;
            }
            self.buf.extend_from_slice(chunk);
            if ends {
                each(Piece::Line(&self.buf));
                self.buf.clear();
            }
        }
    }

    /// At end of stream: the last line if it had no newline.
    pub fn finish(&mut self, each: impl FnOnce(Piece<'_>)) {
        if !self.buf.is_empty() {
            each(Piece::Line(&self.buf));
        }
        self.buf.clear();
        self.skipping = false;
    }

    /// Bytes held now (never more than `max`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn held(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<(bool, Vec<u8>)> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            s.feed(chunk, |p| match p {
                Piece::Line(l) => out.push((false, l.to_vec())),
                Piece::Cut(l) => out.push((true, l.to_vec())),
            });
            assert!(s.held() <= max);
        }
        s.finish(|p| {
            if let Piece::Line(l) = p {
                out.push((false, l.to_vec()))
            }
        });
        out
    }

    #[test]
    fn lines_are_split_across_chunks_and_long_ones_cut() {
        /// (chunks fed, pieces expected as (cut, bytes))
        type Row<'a> = (&'a [&'a [u8]], &'a [(bool, &'a [u8])]);
        let table: &[Row<'_>] = &[
            (&[b"a\nb\n"], &[(false, b"a"), (false, b"b")]),
            (&[b"a", b"b\nc"], &[(false, b"ab"), (false, b"c")]),
            (&[b"\n\n"], &[(false, b""), (false, b"")]),
            (&[b"abcdef\nxy\n"], &[(true, b"abcd"), (false, b"xy")]),
            (
                &[b"abc", b"def", b"ghi\nz\n"],
                &[(true, b"abcd"), (false, b"z")],
            ),
            (&[b"abcd\n"], &[(false, b"abcd")]),
            (&[b"ab", b"cd\n"], &[(false, b"abcd")]),
            (&[b"abcde"], &[(true, b"abcd")]),
        ];
        for (chunks, expected) in table {
            let got = split(4, chunks);
            let expected: Vec<(bool, Vec<u8>)> =
                expected.iter().map(|(c, l)| (*c, l.to_vec())).collect();
            assert_eq!(got, expected, "{chunks:?}");
        }
    }

    proptest! {
        #[test]
        fn whole_lines_come_out_unchanged_in_any_chunking(
            lines in proptest::collection::vec("[a-z]{0,12}", 0..10),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let bytes = text.as_bytes();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&bytes[last..p]);
                last = p;
            }
            chunks.push(&bytes[last..]);
            let got = split(8, &chunks);
            let expected: Vec<(bool, Vec<u8>)> = lines
                .iter()
                .map(|l| if l.len() > 8 { (true, l.as_bytes()[..8].to_vec()) } else { (false, l.as_bytes().to_vec()) })
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
