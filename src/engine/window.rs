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

    pub fn spec(&self) -> WindowSpec {
        self.spec
    }

    /// Batches currently held (at most `size`).
    pub fn held(&self) -> usize {
        self.batches.len()
    }

    /// The first batch number whose pane a restart needs after batch `seq`:
    /// those of the window now, and those of the window at the last slide
    /// (which `tag_window` shows until the next one).
    pub fn needed_from(&self, seq: u64) -> u64 {
        let span = (self.spec.size + self.spec.slide) as u64;
        (seq + 2).saturating_sub(span).max(1)
    }

    /// The window after batch `seq` (batches numbered from 1), from the panes
    /// of the batches before it ([`Window::needed_from`] on; a batch missing
    /// from `panes` had no tags), and the window's counts at its last slide
    /// (empty before the first).
    pub fn restore(spec: WindowSpec, seq: u64, panes: &[(u64, TagCounts)]) -> (Window, TagCounts) {
        let sum = |from: u64, to: u64| {
            let mut totals = TagCounts::default();
            for (_, pane) in panes.iter().filter(|(n, _)| (from..=to).contains(n)) {
                for (tag, n) in pane {
                    *totals.entry(tag.clone()).or_default() += n;
                }
            }
            totals
        };
        let size = spec.size as u64;
        let first = (seq + 1).saturating_sub(size).max(1);
        let batches = (first..=seq)
            .map(|n| panes.iter().find(|(m, _)| *m == n).map(|(_, p)| p.clone()).unwrap_or_default())
            .collect();
        let last_slide = seq - seq % spec.slide as u64;
        let at_slide = if last_slide == 0 {
            TagCounts::default()
        } else {
            sum((last_slide + 1).saturating_sub(size), last_slide)
        };
        let window = Window {
            spec,
            batches,
            totals: sum(first, seq),
            since_slide: (seq % spec.slide as u64) as usize,
        };
        (window, at_slide)
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

    /// A window restored from the panes a restart keeps goes on exactly as
    /// the window that never stopped, at every point of its slide.
    #[test]
    fn a_restored_window_goes_on_like_the_original() {
        let spec = WindowSpec { size: 3, slide: 2 };
        let batch =
            |n: u64| if n.is_multiple_of(4) { counts(&[]) } else { counts(&[("#a", n), ("#b", n % 3 + 1)]) };
        for stop in 1..=9u64 {
            let mut original = Window::new(spec);
            let mut shown = TagCounts::default();
            let mut panes = Vec::new();
            for n in 1..=stop {
                if let Some(c) = original.push(batch(n)) {
                    shown = c.clone();
                }
                if !batch(n).is_empty() {
                    panes.push((n, batch(n)));
                }
            }
            let from = original.needed_from(stop);
            panes.retain(|(n, _)| *n >= from);
            let (mut restored, at_slide) = Window::restore(spec, stop, &panes);
            assert_eq!(at_slide, shown, "the counts shown after batch {stop}");
            for n in stop + 1..=stop + 5 {
                assert_eq!(restored.push(batch(n)).cloned(), original.push(batch(n)).cloned(), "{stop}, {n}");
            }
        }
    }
}
