//! A chunk's hashtags as written in its lines, with their counts.
//!
//! Why: lowercasing a tag (`#Überfall`, `#MongoDB`) costs several times its
//! count, and a chunk holds a few distinct tags many times over; each is
//! lowercased and added to the batch once per chunk. Why not a `HashMap`:
//! its entry API cost about 80 instructions a tag, as much as the rest of a
//! line's hashtag work; a table of its own, probed linearly and compared by
//! half the hash first, costs about half. Bounded by the chunk; seeded per
//! table, as the batch's tags are, so that no line can choose tags that
//! collide.

use std::hash::BuildHasher;

/// Distinct raw tags of one chunk and how many times each was seen.
pub(super) struct RawTags<'c> {
    /// Open addressing with linear probing; a power of two long, kept at
    /// most three quarters full (probes stay short, and a chunk of nothing
    /// but distinct tags takes no more memory than a `HashMap` did: about
    /// 12 MB for the largest chunk, a line of 1 MiB and a quarter MiB more).
    /// A slot with a count of 0 is empty.
    slots: Vec<Slot<'c>>,
    len: usize,
    hasher: foldhash::fast::RandomState,
}

/// 24 bytes: a chunk (at most a line of 1 MiB and a quarter MiB more) holds
/// fewer than 2^32 tags.
#[derive(Clone, Copy, Default)]
struct Slot<'c> {
    tag: &'c [u8],
    /// The hash's high half (the slot's place comes from its low bits).
    check: u32,
    count: u32,
}

impl Default for RawTags<'_> {
    fn default() -> Self {
        RawTags { slots: vec![Slot::default(); 64], len: 0, hasher: Default::default() }
    }
}

impl<'c> RawTags<'c> {
    /// Counts one more `tag`.
    #[inline]
    pub fn add(&mut self, tag: &'c [u8]) {
        let hash = self.hasher.hash_one(RawTag(tag));
        let check = (hash >> 32) as u32;
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.count == 0 {
                *slot = Slot { tag, check, count: 1 };
                self.len += 1;
                if 4 * self.len > 3 * self.slots.len() {
                    self.grow();
                }
                return;
            }
            if slot.check == check && RawTag(slot.tag) == RawTag(tag) {
                slot.count += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the table, placing each tag again.
    #[cold]
    fn grow(&mut self) {
        let doubled = vec![Slot::default(); 2 * self.slots.len()];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.count > 0) {
            let mut i = self.hasher.hash_one(RawTag(slot.tag)) as usize & mask;
            while self.slots[i].count > 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    /// Each distinct tag with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&'c [u8], u64)> + '_ {
        self.slots.iter().filter(|s| s.count > 0).map(|s| (s.tag, u64::from(s.count)))
    }
}

/// A hashtag as written in a line of the chunk: hashed and compared as its
/// bytes.
#[derive(Clone, Copy)]
struct RawTag<'c>(&'c [u8]);

impl PartialEq for RawTag<'_> {
    /// Tags of up to 16 bytes (most) compare as two overlapping words or
    /// half-words, or byte by byte, not through a call to `memcmp`.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
        let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
        a.len() == b.len()
            && match a.len() {
                0 => true,
                n @ 1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
                n @ 4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
                n @ 8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
                _ => a == b,
            }
    }
}

impl std::hash::Hash for RawTag<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Raw tags are equal exactly when their bytes are, at every length and
    /// with a difference at every place.
    #[test]
    fn raw_tags_compare_as_their_bytes() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len as u8).map(|i| b'a' + i % 26).collect();
            assert!(RawTag(&a) == RawTag(&a.clone()));
            assert!(RawTag(&a) != RawTag(&a[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(RawTag(&a) != RawTag(&b), "{len} {at}");
            }
        }
    }

    proptest! {
        /// The table's counts are those of a `HashMap` over the same tags,
        /// through growth (up to 1,200 tags, most of them distinct, from 64
        /// slots).
        #[test]
        fn counts_equal_a_hash_maps(tags in prop::collection::vec("[a-cA\u{e9}]{0,20}", 0..1200)) {
            let mut table = RawTags::default();
            for t in &tags {
                table.add(t.as_bytes());
            }
            let mut want: HashMap<&[u8], u64> = HashMap::new();
            for t in &tags {
                *want.entry(t.as_bytes()).or_default() += 1;
            }
            let got: HashMap<&[u8], u64> = table.iter().collect();
            prop_assert_eq!(got.len(), table.iter().count(), "each tag once");
            prop_assert_eq!(got, want);
        }
    }
}
