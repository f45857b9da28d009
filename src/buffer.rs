//! A byte buffer whose allocations are recycled: the buffer that readers fill
//! and cut chunks from (the socket source, the replay), reused once every chunk
//! cut from it has been dropped.
//!
//! Why: a chunk leaves as a `Bytes` that shares the buffer's allocation, so the
//! next read needs new room while earlier chunks are still being processed on
//! other threads. Allocating that room afresh (256 KiB per chunk) made the
//! kernel fault the new pages in, and when the chunks were freed on other
//! threads, glibc returned the memory and the kernel shot down TLBs on every
//! core: at a million tweets a second, about a tenth of the engine's CPU time.
//! Recycled, a steady stream allocates nothing.

use bytes::BytesMut;
use std::collections::VecDeque;
use std::io::{self, Read};

/// How many earlier allocations are kept for reuse. Chunks in flight are
/// bounded by the consumer's channel and workers (about twenty), so a few more
/// spares than that make reuse the rule; memory stays bounded by them.
const MAX_SPARE: usize = 32;

/// About how many bytes of lines travel together as one chunk (readers
/// gather up to this much into a buffer, and the line codec cuts them out):
/// each chunk's fixed costs (a channel send, a thread waking up) are then
/// shared by about a thousand tweets.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// The least a new allocation holds: a whole chunk and a margin, so that
/// gathering a chunk (or ending one with a line) never moves it.
const MIN_ALLOC: usize = CHUNK_BYTES + 64 * 1024;

/// The largest allocation kept as a spare.
const MAX_SPARE_ALLOC: usize = 4 * MIN_ALLOC;

/// The buffer being filled, and earlier allocations waiting for their chunks to
/// be dropped.
#[derive(Debug, Default)]
pub struct RecycledBuf {
    buf: BytesMut,
    spare: VecDeque<BytesMut>,
    /// `buf` holds an allocation worth keeping as a spare (one of the usual
    /// size, not one grown for a long line).
    keep: bool,
}

impl RecycledBuf {
    /// An empty buffer; nothing is allocated until room is asked for.
    pub fn new() -> Self {
        Self::default()
    }

    /// The buffer, with room for at least `additional` more bytes, taken from
    /// the first allocation that is free again (or a new one of at least
    /// [`MIN_ALLOC`] bytes). The bytes not yet cut off move along.
    pub fn reserve(&mut self, additional: usize) -> &mut BytesMut {
        if self.buf.capacity() - self.buf.len() >= additional || self.buf.try_reclaim(additional) {
            return &mut self.buf;
        }
        let need = self.buf.len() + additional;
        let (mut next, keep) = match self.spare.iter_mut().position(|s| s.try_reclaim(need)) {
            Some(i) => (self.spare.remove(i).expect("a position in the deque"), true),
            None => {
                // Beyond the usual size, at least double what is kept: a long
                // line read piece by piece moves a logarithmic number of
                // times, not once per piece.
                let size = if need <= MIN_ALLOC { MIN_ALLOC } else { need.max(2 * self.buf.len()) };
                // One grown for a long line is freed after use, so that spares
                // stay bounded by MAX_SPARE chunks of the usual size.
                (zeroed(size), size <= MAX_SPARE_ALLOC)
            }
        };
        next.extend_from_slice(&self.buf);
        let mut old = std::mem::replace(&mut self.buf, next);
        if std::mem::replace(&mut self.keep, keep) {
            old.clear();
            if self.spare.len() == MAX_SPARE {
                self.spare.pop_front();
            }
            self.spare.push_back(old);
        }
        &mut self.buf
    }

    /// Reads once from `reader` straight into the buffer, up to `max` bytes
    /// (the room is reserved first); returns how many came, 0 at the end.
    ///
    /// Why not `read` into a block and copy that in: the copy was a tenth of
    /// a hashtag job on a file. Blocking readers (files, stdin) come here;
    /// sockets use tokio's `read_buf`, which fills spare room the same way.
    pub fn read_from(&mut self, reader: &mut impl Read, max: usize) -> io::Result<usize> {
        let buf = self.reserve(max);
        let len = buf.len();
        let spare = &mut buf.spare_capacity_mut()[..max];
        // SAFETY: every allocation of a `RecycledBuf` is zero-filled when
        // made (`zeroed`) and only ever written with bytes after that, so
        // all of its capacity is initialized, spare room included: viewing
        // it as bytes is sound, whatever `reader` does with them.
        let room = unsafe { &mut *(std::ptr::from_mut(spare) as *mut [u8]) };
        let n = reader.read(room)?.min(max);
        // SAFETY: the first `n` bytes of the room were written by `read`
        // (and all of it is initialized, above); `len + n` is within the
        // capacity reserved.
        unsafe { buf.set_len(len + n) };
        Ok(n)
    }

    /// The buffer as it is.
    pub fn get_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The bytes not yet cut off.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
}

/// An empty buffer of `size` bytes of capacity, all of them zeros (from
/// `calloc`: fresh pages cost no more than uninitialized ones).
fn zeroed(size: usize) -> BytesMut {
    let mut buf = BytesMut::zeroed(size);
    buf.clear();
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `buf` with `n` bytes of `fill` and cuts them off as a chunk (with
    /// `n` = [`MIN_ALLOC`], a whole allocation).
    fn cut(buf: &mut RecycledBuf, n: usize, fill: u8) -> bytes::Bytes {
        let b = buf.reserve(n);
        b.extend(std::iter::repeat_n(fill, n));
        b.split().freeze()
    }

    #[test]
    fn an_allocation_is_reused_once_its_chunks_are_dropped() {
        let mut buf = RecycledBuf::new();
        let first = cut(&mut buf, MIN_ALLOC, b'a');
        let first_ptr = first.as_ptr();
        // The first chunk is alive: the second cannot share its memory.
        let second = cut(&mut buf, MIN_ALLOC, b'b');
        assert_ne!(second.as_ptr(), first_ptr);
        assert!(first.iter().all(|&c| c == b'a'), "a chunk in flight is never overwritten");
        drop(first);
        // Now the first allocation is free again, and the next chunk goes there.
        let third = cut(&mut buf, MIN_ALLOC, b'c');
        assert_eq!(third.as_ptr(), first_ptr);
        assert!(second.iter().all(|&c| c == b'b'));
        assert!(third.iter().all(|&c| c == b'c'));
    }

    #[test]
    fn uncut_bytes_move_to_the_new_room() {
        let mut buf = RecycledBuf::new();
        let held = cut(&mut buf, 1000, b'x');
        buf.reserve(10).extend_from_slice(b"partial");
        let b = buf.reserve(MIN_ALLOC);
        assert_eq!(&b[..], b"partial");
        assert!(b.capacity() >= MIN_ALLOC + 7);
        assert!(held.iter().all(|&c| c == b'x'));
    }

    #[test]
    fn a_long_line_read_in_pieces_moves_a_few_times() {
        let mut buf = RecycledBuf::new();
        let piece = 64 * 1024;
        let mut moves = 0;
        let mut at = std::ptr::null();
        for _ in 0..(64 << 20) / piece {
            let b = buf.reserve(piece);
            if b.as_ptr() != at {
                moves += 1;
                at = b.as_ptr();
            }
            b.extend(std::iter::repeat_n(b'x', piece));
        }
        assert_eq!(buf.len(), 64 << 20);
        assert!(moves <= 10, "{moves} moves for 1,024 pieces");
        // The grown allocation does not become a spare: once the line is cut
        // off (and later dropped), the spares are all of the usual size.
        let line = buf.get_mut().split().freeze();
        let _ = cut(&mut buf, MIN_ALLOC, b'y');
        drop(line);
        assert!(!buf.spare.is_empty());
        for s in &mut buf.spare {
            assert!(s.try_reclaim(MIN_ALLOC));
            assert!(s.capacity() <= MAX_SPARE_ALLOC, "a spare of {} bytes", s.capacity());
        }
    }

    #[test]
    fn reads_land_after_the_uncut_bytes_and_chunks_keep_theirs() {
        let data: Vec<u8> = (0..3 * MIN_ALLOC).map(|i| (i * 7 % 251) as u8).collect();
        let mut reader = &data[..];
        let mut buf = RecycledBuf::new();
        let (mut got, mut held) = (Vec::new(), Vec::new());
        loop {
            // Odd sizes, so that reads end mid-way and uncut bytes move.
            let n = buf.read_from(&mut reader, 100_003).unwrap();
            if n == 0 {
                break;
            }
            let cut = buf.len() - buf.len() / 3;
            let chunk = buf.get_mut().split_to(cut).freeze();
            held.push(chunk.clone());
            got.extend_from_slice(&chunk);
            if held.len() > 4 {
                held.remove(0);
            }
        }
        got.extend_from_slice(buf.get_mut());
        assert_eq!(got, data);
        let at = got.len() - held.iter().map(|c| c.len()).sum::<usize>() - buf.len();
        let tail: Vec<u8> = held.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(tail, data[at..at + tail.len()], "chunks in flight are never written over");
    }

    #[test]
    fn spares_are_bounded() {
        let mut buf = RecycledBuf::new();
        let held: Vec<_> = (0..MAX_SPARE + 10).map(|_| cut(&mut buf, MIN_ALLOC, b'z')).collect();
        assert!(buf.spare.len() <= MAX_SPARE);
        drop(held);
        let _ = cut(&mut buf, MIN_ALLOC, b'z');
        assert!(buf.spare.len() <= MAX_SPARE);
    }
}
