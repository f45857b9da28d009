//! The word table both models look tokens up in: a perfect hash from short
//! lowercased words to what the model knows about each, built once from its
//! lexicon. A lookup is a multiply-and-fold hash, one small-table read, the
//! key of one slot and three integer compares, then the entry of that slot or
//! of an empty one, with no branch on whether the word is there.

use rustc_hash::FxHashMap;

/// The longest word in any table, in bytes: longer tokens need no lookup.
pub const MAX_WORD_BYTES: usize = 23;

/// A lowercased word of at most [`MAX_WORD_BYTES`] bytes, zero-padded, with its
/// length in the last byte, as three machine words. Keys live inside the hash
/// table, so a lookup touches no other memory, and comparing is three integer
/// compares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key(pub [u64; 3]);

impl Key {
    /// A key no word has (its length byte is beyond any word's): for tokens too
    /// long to look up.
    pub const NONE: Key = Key([u64::MAX; 3]);

    /// The key of `word`, or `None` if it is too long to be in any table.
    #[inline]
    pub fn new(word: &[u8]) -> Option<Key> {
        if word.len() > MAX_WORD_BYTES {
            return None;
        }
        let mut padded = [0u8; 24];
        padded[..word.len()].copy_from_slice(word);
        padded[23] = word.len() as u8;
        Some(Key::from_bytes(padded))
    }

    #[inline]
    pub fn from_bytes(b: [u8; 24]) -> Key {
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        Key([w(0), w(1), w(2)])
    }
}

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // No length prefix: the length is inside the key already.
        state.write_u64(self.0[0] ^ self.0[1].rotate_left(23) ^ self.0[2].rotate_left(47));
    }
}

/// The word table: a perfect hash (hash and displace, as in CHD) from each
/// [`Key`] to its slot, so a lookup is a hash, one small-table read, one slot
/// read and a compare, with no branch on whether the word is there.
///
/// Why: tokens are looked up in an order no predictor can learn, and a general
/// hash table branches on every probe (hit, miss, next group); a mispredicted
/// branch also stops the processor from overlapping the next token's memory
/// reads with this one's. The table is also half the size of a hash map's.
pub struct WordTable<E> {
    /// The hash's multipliers (odd), found when the table is built.
    mult: [u64; 4],
    /// The shift that leaves a hash's bucket (its top bits; there are half as
    /// many buckets as slots), and the mask of a slot index.
    bucket_shift: u32,
    slot_mask: usize,
    /// Per bucket, the value XORed into its keys' hashes to place them.
    displace: Box<[u16]>,
    /// Each key with its entry, a power of two of them (more slots than
    /// words); an empty slot holds the key of the empty word and the default
    /// entry.
    slots: Box<[(Key, E)]>,
    /// An empty slot: where a lookup of a word not in the table reads.
    empty: usize,
    /// See [`WordTable::new`] (kept for the tests).
    #[cfg(test)]
    attempt: u32,
}

/// How many sets of multipliers [`WordTable::new`] tries.
const ATTEMPTS: u32 = 1000;

/// The multipliers (odd) of attempt `n`: outputs `4n..4n + 4` of splitmix64
/// from a fixed seed (its `k`th output depends on `k` alone).
fn multipliers(n: u32) -> [u64; 4] {
    let output = |k: u64| {
        let mut z = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(k + 2);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) | 1
    };
    let k = 4 * u64::from(n);
    [output(k), output(k + 1), output(k + 2), output(k + 3)]
}

impl<E: Copy + Default> WordTable<E> {
    #[inline(always)]
    fn hash(mult: &[u64; 4], key: &Key) -> u64 {
        let [a, b, c] = key.0;
        let folded = a.wrapping_mul(mult[0]) ^ b.wrapping_mul(mult[1]) ^ c.wrapping_mul(mult[2]);
        let product = u128::from(folded) * u128::from(mult[3]);
        product as u64 ^ (product >> 64) as u64
    }

    /// A hash's bucket (its top bits) and its slot before displacement (its
    /// low bits), for a table of `2^bucket_bits` buckets and twice as many slots.
    #[inline(always)]
    fn split(hash: u64, bucket_bits: u32) -> (usize, usize) {
        ((hash >> (64 - bucket_bits)) as usize, hash as usize & ((2 << bucket_bits) - 1))
    }

    /// The slot of a hash: its bucket's displacement XORed into its low bits.
    #[inline(always)]
    fn slot(&self, hash: u64) -> usize {
        let (bucket, low) = ((hash >> self.bucket_shift) as usize, hash as usize & self.slot_mask);
        // Displacements are below the slot count (the mask only spares a
        // bounds check on the slot read).
        (low ^ usize::from(self.displace[bucket])) & self.slot_mask
    }

    /// The entry of `key` (the default entry if the word is not there):
    /// its slot's, if the slot holds `key`, chosen without a branch (whether
    /// a word is in a lexicon is as unpredictable as the words).
    #[inline(always)]
    pub fn get(&self, key: &Key) -> E {
        let slot = self.slot(Self::hash(&self.mult, key));
        let (stored, entry) = &self.slots[slot];
        let differ = (stored.0[0] ^ key.0[0]) | (stored.0[1] ^ key.0[1]) | (stored.0[2] ^ key.0[2]);
        if size_of::<E>() <= 16 {
            // An entry that fits in two registers is chosen directly.
            std::hint::select_unpredictable(differ == 0, *entry, E::default())
        } else {
            // A larger one is read from the chosen slot: one integer chosen.
            let at = std::hint::select_unpredictable(differ == 0, slot, self.empty);
            self.slots[at & self.slot_mask].1
        }
    }

    /// Every slot, empty ones included (for tests).
    #[cfg(test)]
    pub fn slots(&self) -> &[(Key, E)] {
        &self.slots
    }

    /// Finds multipliers and displacements that give every word its own slot,
    /// in a table of the smallest power of two of slots that holds them all.
    ///
    /// The multipliers of attempt `n` are a fixed sequence's (so every
    /// process builds the same table), and the search starts at
    /// `first_attempt`: a lexicon passes the attempt that works for it, found
    /// once and held by the lexicon's test, because each failed attempt
    /// costs a placement (four of them were two thirds of VADER's start-up).
    /// Any other start still finds a table.
    pub fn new(words: &FxHashMap<Key, E>, first_attempt: u32) -> WordTable<E> {
        // The next power of two above the number of words (so that a slot is
        // left empty), half as many buckets.
        let bucket_bits = (words.len() + 1).max(4).next_power_of_two().trailing_zeros() - 1;
        assert!(bucket_bits < 16, "displacements are 16 bits: at most 32,768 words");
        for attempt in (first_attempt..ATTEMPTS).chain(0..first_attempt.min(ATTEMPTS)) {
            if let Some(table) = Self::place(words, multipliers(attempt), bucket_bits) {
                #[cfg(test)]
                let table = WordTable { attempt, ..table };
                return table;
            }
        }
        panic!("no perfect hash for the embedded lexicon");
    }

    /// The attempt whose multipliers built this table.
    #[cfg(test)]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Places the buckets, largest first, each at the first displacement whose
    /// slots are all free; `None` if some bucket fits nowhere.
    fn place(words: &FxHashMap<Key, E>, mult: [u64; 4], bucket_bits: u32) -> Option<WordTable<E>> {
        let slots = 2 << bucket_bits;
        let mut buckets: Vec<Vec<(usize, Key, E)>> = vec![Vec::new(); 1 << bucket_bits];
        for (key, entry) in words {
            let (bucket, low) = Self::split(Self::hash(&mult, key), bucket_bits);
            buckets[bucket].push((low, *key, *entry));
        }
        let mut order: Vec<usize> = (0..buckets.len()).collect();
        // The sort keys are distinct (each holds its bucket): an unstable sort
        // gives the same order.
        order.sort_unstable_by_key(|&b| (std::cmp::Reverse(buckets[b].len()), b));
        let mut table = WordTable {
            mult,
            bucket_shift: 64 - bucket_bits,
            slot_mask: slots - 1,
            displace: vec![0; 1 << bucket_bits].into_boxed_slice(),
            slots: vec![(Key([0; 3]), E::default()); slots].into_boxed_slice(),
            empty: 0,
            #[cfg(test)]
            attempt: 0,
        };
        let mut taken = vec![false; slots];
        let mut first_free = 0;
        for b in order {
            let items = &buckets[b];
            if items.is_empty() {
                break;
            }
            if items.len() > 16 {
                return None; // a bad seed: try the next one
            }
            // A single key (the last half) goes to the first free slot.
            while first_free < slots && taken[first_free] {
                first_free += 1;
            }
            let d = if items.len() == 1 && first_free < slots {
                Some(items[0].0 ^ first_free)
            } else {
                (0..slots).find(|&d| {
                    let mut seen = [usize::MAX; 16];
                    items.iter().enumerate().all(|(i, &(low, _, _))| {
                        let slot = low ^ d;
                        let fresh = !taken[slot] && !seen[..i].contains(&slot);
                        seen[i] = slot;
                        fresh
                    })
                })
            };
            let d = d?;
            table.displace[b] = d as u16;
            for &(low, key, entry) in items {
                taken[low ^ d] = true;
                table.slots[low ^ d] = (key, entry);
            }
        }
        table.empty = taken.iter().position(|t| !t)?;
        Some(table)
    }
}

/// The `len` bytes at `at` (at most 24 are used), zero-padded into three words,
/// read straight from a lowercased copy of the text with 24 bytes of padding
/// after its end (a key is then three loads and three masks). Most tokens fit
/// in the first word.
#[inline(always)]
pub fn load_words(lowered: &[u8], at: usize, len: usize) -> [u64; 3] {
    let bytes: &[u8; 24] = lowered[at..at + 24].try_into().expect("24 bytes");
    let word = |k: usize| u64::from_le_bytes(*bytes[8 * k..].first_chunk().expect("8 bytes"));
    // A table instead of branches on the length: token lengths are not predictable.
    let mask = &WORD_MASKS[len.min(24)];
    [word(0) & mask[0], word(1) & mask[1], word(2) & mask[2]]
}

/// `WORD_MASKS[n]` keeps the first `n` of 24 bytes.
static WORD_MASKS: [[u64; 3]; 25] = {
    let mut masks = [[0; 3]; 25];
    let mut n = 0;
    while n <= 24 {
        let mut k = 0;
        while k < 3 {
            let bytes = if n > 8 * k { if n - 8 * k > 8 { 8 } else { n - 8 * k } } else { 0 };
            masks[n][k] = if bytes == 8 { u64::MAX } else { (1u64 << (8 * bytes)) - 1 };
            k += 1;
        }
        n += 1;
    }
    masks
};

/// The key of the `len` bytes at `at` of a lowercased, padded text (see
/// [`load_words`]), if they are ASCII and short enough to be a key.
#[inline(always)]
pub fn ascii_key(lowered: &[u8], at: usize, len: usize) -> Option<Key> {
    let [a, b, c] = load_words(lowered, at, len);
    let ascii = (a | b | c) & 0x8080_8080_8080_8080 == 0;
    (ascii && len <= MAX_WORD_BYTES).then_some(Key([a, b, c | (len as u64) << 56]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables of any size find each of their words and nothing else.
    #[test]
    fn finds_exactly_its_words_at_every_size() {
        for n in [1usize, 2, 3, 4, 100, 1000, 1024, 2860, 5000] {
            let words: FxHashMap<Key, u32> =
                (0..n as u32).map(|i| (Key::new(format!("w{i}").as_bytes()).unwrap(), i + 1)).collect();
            let table = WordTable::new(&words, 0);
            assert!(table.slots().len() > n && table.slots().len() < 2 * (n + 1).max(4), "{n} words");
            for (key, value) in &words {
                assert_eq!(table.get(key), *value);
            }
            for miss in ["", "w", "x0", &format!("w{n}"), "w0 ", "a-very-long-word-of-23b"] {
                assert_eq!(table.get(&Key::new(miss.as_bytes()).unwrap()), 0, "{miss}");
            }
            assert_eq!(table.get(&Key::NONE), 0);
        }
    }
}
