//! The sliding window over tag counts (`reduceByKeyAndWindow`): the last
//! `size` batches' counts, recomputed every `slide` batches. Kept incrementally:
//! each batch is added once and subtracted once when it leaves the window, and
//! its state is dropped then.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

pub type TagCounts = FxHashMap<Box<str>, u64>;

/// Window length and slide, in batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    pub size: usize,
    pub slide: usize,
}

pub struct Window {
    spec: WindowSpec,
    batches: VecDeque<TagCounts>,
    totals: TagCounts,
    since_slide: usize,
}

impl Window {
    pub fn new(spec: WindowSpec) -> Self {
        Window { spec, batches: VecDeque::new(), totals: TagCounts::default(), since_slide: 0 }
    }

    /// Adds a batch; returns the window's counts when a slide ends on it.
    pub fn push(&mut self, tags: TagCounts) -> Option<&TagCounts> {
        for (tag, n) in &tags {
            *self.totals.entry(tag.clone()).or_default() += n;
        }
        self.batches.push_back(tags);
        if self.batches.len() > self.spec.size {
            let expired = self.batches.pop_front().expect("longer than size");
            for (tag, n) in expired {
                if let Some(total) = self.totals.get_mut(&tag) {
                    *total -= n;
                    if *total == 0 {
                        self.totals.remove(&tag);
                    }
                }
            }
        }
        self.since_slide += 1;
        if self.since_slide == self.spec.slide {
            self.since_slide = 0;
            Some(&self.totals)
        } else {
            None
        }
    }

    /// Batches currently held (at most `size`).
    pub fn held(&self) -> usize {
        self.batches.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> TagCounts {
        pairs.iter().map(|(t, n)| ((*t).into(), *n)).collect()
    }

    #[test]
    fn slides_and_expires() {
        let mut w = Window::new(WindowSpec { size: 3, slide: 2 });
        assert!(w.push(counts(&[("#a", 1)])).is_none());
        assert_eq!(w.push(counts(&[("#a", 2), ("#b", 1)])), Some(&counts(&[("#a", 3), ("#b", 1)])));
        assert!(w.push(counts(&[("#c", 5)])).is_none());
        // The first batch has left the window; "#b" leaves with the second.
        assert_eq!(w.push(counts(&[])), Some(&counts(&[("#a", 2), ("#b", 1), ("#c", 5)])));
        assert!(w.push(counts(&[])).is_none());
        assert_eq!(w.push(counts(&[])), Some(&counts(&[])));
        assert_eq!(w.held(), 3);
    }
}
