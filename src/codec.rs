//! Line framing shared by every reader (stdin, files, TCP): a tokio-util
//! [`Decoder`] that cuts a byte stream into chunks of whole `\n`-terminated lines.
//!
//! It hands out many lines per frame rather than one, because at millions of lines
//! per second a channel send or a reference-count bump per line costs more than
//! the work on it. Lines longer than `max_line_bytes` are dropped without being
//! buffered and reported as [`Line::TooLong`], so memory stays bounded whatever
//! the peer sends. Bytes are not checked for UTF-8 here: that is the decoder's job,
//! which counts such lines as bad records.

use crate::buffer::RecycledBuf;
use bytes::{Buf, Bytes, BytesMut};
use std::io::{self, Read};
use tokio_util::codec::Decoder;

/// Default limit on one line: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

pub use crate::buffer::CHUNK_BYTES;

/// One line of a [`Chunk`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line without its `\n` (a `\r` before it is kept, as Python's
    /// `split('\n')` keeps it).
    Ok(&'a [u8]),
    /// A line over the limit, dropped; `len` is how many bytes it had.
    TooLong { len: usize },
    /// The last bytes of a stream that ended without a final `\n`. Files treat it
    /// as a line; a network source counts it as cut off by the disconnect.
    Cut(&'a [u8]),
}

/// The topics of a partitioned source, in the order given; a [`PartitionId`]
/// names its topic by its index here, so that an [`Origin`] stays a small
/// `Copy` value. The source and the stores that keep its positions share one
/// list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics(std::sync::Arc<[String]>);

impl Topics {
    /// The topics, each once, in the order first given.
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Topics {
        let mut list: Vec<String> = Vec::new();
        for name in names {
            if !list.iter().any(|t| t == name.as_ref()) {
                list.push(name.as_ref().to_owned());
            }
        }
        assert!(list.len() <= usize::from(u16::MAX), "at most 65,535 topics");
        Topics(list.into())
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The name of the topic at `index`.
    pub fn name(&self, index: u16) -> &str {
        &self.0[usize::from(index)]
    }

    /// The index of the topic named `name`, if it is one of these.
    pub fn index(&self, name: &str) -> Option<u16> {
        self.0.iter().position(|t| t == name).map(|i| i as u16)
    }

    /// `topic T partition P`, for messages.
    pub fn describe(&self, id: PartitionId) -> String {
        format!("topic {} partition {}", self.name(id.topic), id.partition)
    }

    /// `[0, 1] of tweets, [0] of other` (or `none`), for messages.
    pub fn list(&self, parts: &[PartitionId]) -> String {
        let mut by_topic: Vec<String> = Vec::new();
        for (index, name) in self.names().iter().enumerate() {
            let of: Vec<i32> =
                parts.iter().filter(|p| usize::from(p.topic) == index).map(|p| p.partition).collect();
            if !of.is_empty() {
                by_topic.push(format!("{of:?} of {name}"));
            }
        }
        if by_topic.is_empty() { "none".into() } else { by_topic.join(", ") }
    }
}

/// One partition of one of the source's [`Topics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    /// The topic's index in the source's [`Topics`].
    pub topic: u16,
    pub partition: i32,
}

/// Where a chunk came from in a partitioned log (Kafka): the offsets
/// `first..next` of one partition. `epoch` is the source's generation of that
/// partition: it changes when the source rewinds, so that results of chunks read
/// before the rewind can be recognized as stale and dropped. `last` is a
/// fingerprint of the message at `next - 1`, kept with stored results so that a
/// restart can tell whether the log still holds the message counted there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub partition: PartitionId,
    pub epoch: u64,
    pub first: i64,
    pub next: i64,
    pub last: u64,
}

impl Origin {
    /// The range covering both (they are parts of one contiguous read, in
    /// either order): `last` is that of the part reaching further; of two
    /// reaching as far, the larger (a Kafka fingerprint is then the same
    /// message's; a Jetstream's count of events at its newest time only
    /// grows while the offset stays).
    pub fn span(self, other: Origin) -> Origin {
        let last = match other.next.cmp(&self.next) {
            std::cmp::Ordering::Greater => other.last,
            std::cmp::Ordering::Equal => other.last.max(self.last),
            std::cmp::Ordering::Less => self.last,
        };
        Origin { first: self.first.min(other.first), next: self.next.max(other.next), last, ..self }
    }
}

/// Whole lines, in order, as read.
#[derive(Debug, Default, Clone)]
pub struct Chunk {
    /// Complete lines, each ending in `\n`, except the last one at end of stream
    /// when `unterminated` is set.
    data: Bytes,
    /// Lines over the limit that were dropped before `data` (their lengths).
    dropped_before: Vec<usize>,
    /// The stream ended in the middle of the last line of `data`.
    pub unterminated: bool,
    max_line_bytes: usize,
    /// The partition and offsets of these lines, for sources that have them.
    pub origin: Option<Origin>,
}

impl Chunk {
    /// A chunk of complete lines assembled elsewhere (each ending in `\n`), such as
    /// Kafka messages.
    pub fn from_lines(data: Bytes, max_line_bytes: usize, origin: Option<Origin>) -> Chunk {
        Chunk { data, dropped_before: Vec::new(), unterminated: false, max_line_bytes, origin }
    }

    /// Calls `f` on every line, in stream order.
    pub fn for_each_line<'a>(&'a self, mut f: impl FnMut(Line<'a>)) {
        for &len in &self.dropped_before {
            f(Line::TooLong { len });
        }
        let data = &self.data[..];
        let mut start = 0;
        let mut emit = |line: &'a [u8], cut: bool| {
            if line.len() > self.max_line_bytes {
                f(Line::TooLong { len: line.len() });
            } else if cut {
                f(Line::Cut(line));
            } else {
                f(Line::Ok(line));
            }
        };
        for_each_newline(data, |end| {
            emit(&data[start..end], false);
            start = end + 1;
        });
        if start < data.len() {
            // A last line without its `\n`.
            emit(&data[start..], self.unterminated);
        }
    }

    /// The chunk's bytes, if they are nothing but whole lines within the limit
    /// (each ending in `\n`, none dropped): then they can be passed on as they
    /// are, without a look at each line.
    pub fn whole_lines(&self) -> Option<&Bytes> {
        let whole = self.dropped_before.is_empty() && !self.unterminated;
        // A chunk no longer than the limit has no line over it.
        (whole && self.data.len() <= self.max_line_bytes).then_some(&self.data)
    }

    /// Number of lines in the chunk (dropped ones included).
    pub fn line_count(&self) -> usize {
        let newlines = memchr::memchr_iter(b'\n', &self.data).count();
        self.dropped_before.len() + newlines + usize::from(self.unterminated)
    }
}

/// Calls `f` with the position of every `\n` in `data`, in order.
///
/// Why not `memchr` per line: a call costs about 80 instructions and a
/// branch on where the line ends, more than the search itself on lines of a
/// hundred bytes. Here each 64 bytes become one bitmap of newlines (SSE2,
/// part of every x86-64 CPU), and lines are cut at its set bits.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn for_each_newline(data: &[u8], mut f: impl FnMut(usize)) {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let newlines = |block: &[u8; 64]| {
        let mut bits = 0u64;
        for k in 0..4 {
            // SAFETY: SSE2 is enabled (x86-64 baseline), and the 16-byte load
            // lies inside `block` (the intrinsic has no alignment needs).
            let part = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)))
            };
            bits |= u64::from(part as u16) << (16 * k);
        }
        bits
    };
    let (blocks, tail) = data.as_chunks::<64>();
    let mut each_bit = |base: usize, mut bits: u64| {
        while bits != 0 {
            f(base + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    };
    for (k, block) in blocks.iter().enumerate() {
        each_bit(64 * k, newlines(block));
    }
    if !tail.is_empty() {
        let mut last = [0u8; 64];
        last[..tail.len()].copy_from_slice(tail);
        each_bit(64 * blocks.len(), newlines(&last));
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn for_each_newline(data: &[u8], f: impl FnMut(usize)) {
    memchr::memchr_iter(b'\n', data).for_each(f);
}

/// The decoder. Feed it with `FramedRead` (async) or [`read_chunks`] (blocking).
#[derive(Debug)]
pub struct LineCodec {
    max_line_bytes: usize,
    /// Bytes of an over-long line dropped so far, while waiting for its end.
    discarding: Option<usize>,
    /// Lengths of over-long lines finished since the last chunk.
    dropped: Vec<usize>,
}

impl LineCodec {
    pub fn new(max_line_bytes: usize) -> Self {
        LineCodec { max_line_bytes, discarding: None, dropped: Vec::new() }
    }

    fn chunk(&mut self, data: Bytes, unterminated: bool) -> Chunk {
        Chunk {
            data,
            dropped_before: std::mem::take(&mut self.dropped),
            unterminated,
            max_line_bytes: self.max_line_bytes,
            origin: None,
        }
    }
}

impl Decoder for LineCodec {
    type Item = Chunk;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Chunk>> {
        if let Some(discarded) = self.discarding {
            match memchr::memchr(b'\n', buf) {
                Some(end) => {
                    self.dropped.push(discarded + end);
                    self.discarding = None;
                    buf.advance(end + 1);
                }
                None => {
                    self.discarding = Some(discarded + buf.len());
                    buf.clear();
                    return Ok(self.flush_dropped());
                }
            }
        }
        match memchr::memrchr(b'\n', buf) {
            Some(last) => {
                let data = buf.split_to(last + 1).freeze();
                Ok(Some(self.chunk(data, false)))
            }
            None if buf.len() > self.max_line_bytes => {
                // Start dropping this line instead of buffering it.
                self.discarding = Some(buf.len());
                buf.clear();
                Ok(self.flush_dropped())
            }
            None => Ok(self.flush_dropped()),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Chunk>> {
        if let Some(chunk) = self.decode(buf)? {
            return Ok(Some(chunk));
        }
        if let Some(discarded) = self.discarding.take() {
            self.dropped.push(discarded + buf.len());
            buf.clear();
        }
        if buf.is_empty() {
            return Ok(self.flush_dropped());
        }
        let data = buf.split().freeze();
        Ok(Some(self.chunk(data, true)))
    }
}

impl LineCodec {
    fn flush_dropped(&mut self) -> Option<Chunk> {
        (!self.dropped.is_empty()).then(|| self.chunk(Bytes::new(), false))
    }
}

/// Reads `reader` to its end with [`LineCodec`], calling `f` on each chunk.
/// The blocking counterpart of `FramedRead`, for stdin and files. `f` may keep
/// a chunk's bytes (the replay sends them on): the buffer is recycled.
pub fn read_chunks(
    mut reader: impl Read,
    max_line_bytes: usize,
    mut f: impl FnMut(&Chunk) -> io::Result<()>,
) -> io::Result<()> {
    let mut codec = LineCodec::new(max_line_bytes);
    let mut buffer = RecycledBuf::new();
    loop {
        let n = match buffer.read_from(&mut reader, CHUNK_BYTES) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            while let Some(chunk) = codec.decode_eof(buffer.get_mut())? {
                f(&chunk)?;
            }
            return Ok(());
        }
        let buf = buffer.get_mut();
        while let Some(chunk) = codec.decode(buf)? {
            f(&chunk)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, any};

    /// Runs the codec over `input` fed in pieces of `step` bytes.
    fn lines(input: &[u8], max: usize, step: usize) -> Vec<Result<Vec<u8>, usize>> {
        let mut out = Vec::new();
        let reader = Trickle { data: input, step };
        read_chunks(reader, max, |chunk| {
            chunk.for_each_line(|line| {
                out.push(match line {
                    Line::Ok(l) | Line::Cut(l) => Ok(l.to_vec()),
                    Line::TooLong { len } => Err(len),
                })
            });
            Ok(())
        })
        .unwrap();
        out
    }

    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(self.data.len()).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn splits_on_newline_only_and_keeps_carriage_returns() {
        for step in [1, 3, 1000] {
            let got = lines(b"a\r\nb\xff\n\nlast", 100, step);
            let want: Vec<Result<Vec<u8>, usize>> =
                vec![Ok(b"a\r".to_vec()), Ok(b"b\xff".to_vec()), Ok(vec![]), Ok(b"last".to_vec())];
            assert_eq!(got, want, "step {step}");
        }
    }

    #[test]
    fn over_long_lines_are_reported_not_buffered() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 50));
        input.extend(b"\nfine\n");
        input.extend(std::iter::repeat_n(b'y', 30));
        for step in [1, 7, 4096] {
            let got = lines(&input, 10, step);
            let want: Vec<Result<Vec<u8>, usize>> =
                vec![Ok(b"ok".to_vec()), Err(50), Ok(b"fine".to_vec()), Err(30)];
            assert_eq!(got, want, "step {step}");
        }
    }

    #[test]
    fn counts_lines() {
        let mut codec = LineCodec::new(100);
        let mut buf = BytesMut::from(&b"a\nb\nc"[..]);
        let chunk = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(chunk.line_count(), 2);
        let tail = codec.decode_eof(&mut buf).unwrap().unwrap();
        assert!(tail.unterminated);
        assert_eq!(tail.line_count(), 1);
        let mut lines = Vec::new();
        tail.for_each_line(|l| lines.push(matches!(l, Line::Cut(b"c"))));
        assert_eq!(lines, vec![true]);
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Lines cut at the newline bitmaps are `split(b'\n')`'s pieces
        /// (without the empty one after a final `\n`), at every length and
        /// newline place across the 64-byte blocks, the last one cut off only
        /// when the chunk is unterminated.
        #[test]
        fn lines_are_the_pieces_between_newlines(
            data in proptest::collection::vec(proptest::prop_oneof![Just(b'\n'), Just(b'a'), Just(0xffu8), any::<u8>()], 0..300),
            max in 0usize..80,
            unterminated: bool,
        ) {
            let unterminated = unterminated && !data.ends_with(b"\n");
            let chunk = Chunk { data: Bytes::from(data.clone()), dropped_before: Vec::new(), unterminated, max_line_bytes: max, origin: None };
            let mut got = Vec::new();
            chunk.for_each_line(|line| got.push(match line {
                Line::Ok(l) => (0, l.to_vec()),
                Line::Cut(l) => (1, l.to_vec()),
                Line::TooLong { len } => (2, vec![0; len]),
            }));
            let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if data.is_empty() || data.ends_with(b"\n") {
                pieces.pop();
            }
            let n = pieces.len();
            let want: Vec<(u8, Vec<u8>)> = pieces.into_iter().enumerate().map(|(i, p)| {
                if p.len() > max {
                    (2, vec![0; p.len()])
                } else if i + 1 == n && !data.ends_with(b"\n") && unterminated {
                    (1, p.to_vec())
                } else {
                    (0, p.to_vec())
                }
            }).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
