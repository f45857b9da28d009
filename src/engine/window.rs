//! The sliding window over tag counts (`reduceByKeyAndWindow`): the last
//! `size` batches' counts, published every `slide` batches. Kept incrementally
//! and in the tables' order: each batch is added once and subtracted once when
//! it leaves the window, and its state is dropped then.

use super::ranked::{Ranked, Tag};
use super::tag_table::TagTable;
use std::collections::VecDeque;

/// One batch's tag counts, as the window keeps it until it expires.
pub type Pane = Vec<(Tag, u64)>;

/// Window length and slide, in batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    pub size: usize,
    pub slide: usize,
}

pub struct Window {
    spec: WindowSpec,
    batches: VecDeque<Pane>,
    totals: TagTable,
    since_slide: usize,
}

impl Window {
    pub fn new(spec: WindowSpec) -> Self {
        Window { spec, batches: VecDeque::new(), totals: TagTable::default(), since_slide: 0 }
    }

    /// Adds a batch; returns the window's rows when a slide ends on it.
    pub fn push(&mut self, pane: Pane) -> Option<&Ranked> {
        for (tag, n) in &pane {
            self.totals.add(tag, *n, Some(tag));
        }
        self.batches.push_back(pane);
        if self.batches.len() > self.spec.size {
            let expired = self.batches.pop_front().expect("longer than size");
            for (tag, n) in expired {
                self.totals.sub(&tag, n);
            }
        }
        self.since_slide += 1;
        if self.since_slide == self.spec.slide {
            self.since_slide = 0;
            Some(self.totals.ranked())
        } else {
            None
        }
    }

    pub fn spec(&self) -> WindowSpec {
        self.spec
    }

    /// Batches currently held (at most `size`).
    #[cfg(test)]
    fn held(&self) -> usize {
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
    /// from `panes` had no tags), and the window's rows at its last slide
    /// (empty before the first).
    pub fn restore(spec: WindowSpec, seq: u64, panes: &[(u64, Pane)]) -> (Window, Ranked) {
        let sum = |from: u64, to: u64| {
            let mut totals = TagTable::default();
            for (_, pane) in panes.iter().filter(|(n, _)| (from..=to).contains(n)) {
                for (tag, n) in pane {
                    totals.add(tag, *n, Some(tag));
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
            Ranked::default()
        } else {
            sum((last_slide + 1).saturating_sub(size), last_slide).ranked().clone()
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

    fn counts(pairs: &[(&str, u64)]) -> Pane {
        pairs.iter().map(|(t, n)| ((*t).into(), *n)).collect()
    }

    /// The window's rows as (tag, count), sorted by tag.
    fn rows(r: Option<&Ranked>) -> Option<Vec<(String, u64)>> {
        r.map(|r| {
            let mut v: Vec<(String, u64)> = r.iter().map(|r| (r.tag.to_string(), r.count)).collect();
            v.sort();
            v
        })
    }

    fn sorted(pairs: &[(&str, u64)]) -> Option<Vec<(String, u64)>> {
        let mut v: Vec<(String, u64)> = pairs.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect();
        v.sort();
        Some(v)
    }

    #[test]
    fn slides_and_expires() {
        let mut w = Window::new(WindowSpec { size: 3, slide: 2 });
        assert!(w.push(counts(&[("#a", 1)])).is_none());
        assert_eq!(rows(w.push(counts(&[("#a", 2), ("#b", 1)]))), sorted(&[("#a", 3), ("#b", 1)]));
        assert!(w.push(counts(&[("#c", 5)])).is_none());
        // The first batch has left the window; "#b" leaves with the second.
        assert_eq!(rows(w.push(counts(&[]))), sorted(&[("#a", 2), ("#b", 1), ("#c", 5)]));
        assert!(w.push(counts(&[])).is_none());
        assert_eq!(rows(w.push(counts(&[]))), sorted(&[]));
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
            let mut shown = Vec::new();
            let mut panes = Vec::new();
            for n in 1..=stop {
                if let Some(c) = rows(original.push(batch(n))) {
                    shown = c;
                }
                if !batch(n).is_empty() {
                    panes.push((n, batch(n)));
                }
            }
            let from = original.needed_from(stop);
            panes.retain(|(n, _)| *n >= from);
            let (mut restored, at_slide) = Window::restore(spec, stop, &panes);
            assert_eq!(rows(Some(&at_slide)).unwrap(), shown, "the counts shown after batch {stop}");
            for n in stop + 1..=stop + 5 {
                assert_eq!(rows(restored.push(batch(n))), rows(original.push(batch(n))), "{stop}, {n}");
            }
        }
    }
}
