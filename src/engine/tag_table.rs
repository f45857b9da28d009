//! Tag counts kept two ways at once: by tag, to update a count in O(1), and in
//! the tables' order ([`Ranked`]), to publish without sorting. The running
//! totals and the window are each one of these; a batch costs what it
//! changes, never what the table holds.
//!
//! A table kept to at most `max` tags (`--max-tags`) follows the Space-Saving
//! algorithm (Metwally, Agrawal and El Abbadi, 2005): a new tag that finds
//! the table full takes the place of the last row (the lowest count `m`) and
//! starts from `m`, with an error of `m`. So every row's count is at most
//! `error` above the tag's true count, never below it; every tag counted more
//! than the lowest count is in the table; and the counts still add up to
//! everything counted.

use super::ranked::{Ranked, Row, Tag, TagMap};

#[derive(Clone, Debug, Default)]
pub struct TagTable {
    counts: TagMap<u64>,
    ranked: Ranked,
}

impl PartialEq for TagTable {
    fn eq(&self, other: &Self) -> bool {
        self.counts == other.counts
    }
}

impl TagTable {
    /// A table of these counts (each tag once), built in one pass.
    pub fn from_counts(mut counts: TagMap<u64>) -> Self {
        counts.retain(|_, n| *n > 0);
        let ranked = Ranked::from_counts(&counts);
        TagTable { counts, ranked }
    }

    /// A table of these rows, given in tag order (each tag once, as a
    /// checkpoint reads them): a stable sort by count puts them in the
    /// tables' order without comparing a single tag.
    pub fn from_rows_in_tag_order(mut rows: Vec<Row>) -> Self {
        debug_assert!(rows.windows(2).all(|w| w[0].tag < w[1].tag), "in tag order");
        rows.retain(|r| r.count > 0);
        let mut counts = TagMap::with_capacity_and_hasher(rows.len(), Default::default());
        counts.extend(rows.iter().map(|r| (r.tag.clone(), r.count)));
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
        TagTable { counts, ranked: Ranked::from_sorted(rows) }
    }

    /// A table of these rows, given in the tables' order (each tag once).
    pub fn from_rows_in_table_order(rows: Vec<Row>) -> Self {
        let mut counts = TagMap::with_capacity_and_hasher(rows.len(), Default::default());
        counts.extend(rows.iter().map(|r| (r.tag.clone(), r.count)));
        TagTable { counts, ranked: Ranked::from_sorted(rows) }
    }

    /// Sets a tag's count (0: the tag leaves the table).
    pub fn set(&mut self, tag: &str, count: u64) {
        let now = self.get(tag);
        if count > now {
            self.add(tag, count - now, None);
        } else if count < now {
            self.sub(tag, now - count);
        }
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// A tag's count (0: not in the table).
    pub fn get(&self, tag: &str) -> u64 {
        self.counts.get(tag).copied().unwrap_or(0)
    }

    /// The table's own copy of a tag, to share instead of allocating another.
    pub fn tag(&self, tag: &str) -> Option<&Tag> {
        self.counts.get_key_value(tag).map(|(t, _)| t)
    }

    /// Adds `n` to a tag's count; returns the tag as the table holds it and
    /// its new count. `shared` is a copy of the tag to take if it is new here
    /// (None: one is allocated).
    pub fn add(&mut self, tag: &str, n: u64, shared: Option<&Tag>) -> (Tag, u64) {
        // Look up before inserting: most tags are already there.
        if let Some((t, count)) = self.counts.get_key_value(tag) {
            let (t, old) = (t.clone(), *count);
            let new = old.saturating_add(n);
            self.counts.insert(t.clone(), new);
            self.ranked.set(&t, old, new);
            return (t, new);
        }
        let t: Tag = shared.cloned().unwrap_or_else(|| tag.into());
        if n > 0 {
            self.counts.insert(t.clone(), n);
            self.ranked.insert(Row::new(n, t.clone()));
        }
        (t, n)
    }

    /// A tag's error (see [`Row::error`]; 0: exact, or not in the table).
    pub fn error(&self, tag: &str) -> u64 {
        let Some((t, count)) = self.counts.get_key_value(tag) else { return 0 };
        self.ranked.find(*count, t).map_or(0, |r| r.error)
    }

    /// Adds `n` to a tag in a table kept to `max` tags: a tag already there
    /// is added to; a new one, if the table is full, takes the place of the
    /// last row (returned) and starts from its count, with that as its error.
    pub fn add_bounded(&mut self, tag: &str, n: u64, shared: Option<&Tag>, max: usize) -> (Tag, Option<Tag>) {
        if n == 0 || self.counts.contains_key(tag) || self.counts.len() < max.max(1) {
            return (self.add(tag, n, shared).0, None);
        }
        let last = self.ranked.last().expect("a full table has rows").clone();
        self.counts.remove(&last.tag);
        self.ranked.remove(&last);
        let t: Tag = shared.cloned().unwrap_or_else(|| tag.into());
        let count = last.count.saturating_add(n);
        self.counts.insert(t.clone(), count);
        self.ranked.insert(Row::with_error(count, t.clone(), last.count));
        (t, Some(last.tag))
    }

    /// Sets a tag's count and error (a count of 0: the tag leaves the table).
    pub fn set_with_error(&mut self, tag: &str, count: u64, error: u64) {
        if let Some((t, old)) = self.counts.remove_entry(tag) {
            self.ranked.set(&t, old, 0);
        }
        if count > 0 {
            let t: Tag = tag.into();
            self.counts.insert(t.clone(), count);
            self.ranked.insert(Row::with_error(count, t, error.min(count)));
        }
    }

    /// Takes `n` from a tag's count; a tag at 0 leaves the table.
    pub fn sub(&mut self, tag: &str, n: u64) {
        let Some((t, count)) = self.counts.get_key_value(tag) else { return };
        let (t, old) = (t.clone(), *count);
        let new = old.saturating_sub(n);
        if new == 0 {
            self.counts.remove(tag);
        } else {
            self.counts.insert(t.clone(), new);
        }
        self.ranked.set(&t, old, new);
    }

    /// The rows in the tables' order (a copy is one reference: publish it).
    pub fn ranked(&self) -> &Ranked {
        &self.ranked
    }

    /// The counts by tag.
    pub fn counts(&self) -> &TagMap<u64> {
        &self.counts
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Tag, &u64)> {
        self.counts.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_order_move_together() {
        let mut t = TagTable::default();
        let (a, n) = t.add("#a", 2, None);
        assert_eq!((&*a, n), ("#a", 2));
        t.add("#b", 3, None);
        t.add("#a", 2, None);
        assert_eq!(t.get("#a"), 4);
        let rows: Vec<(&str, u64)> = t.ranked().iter().map(|r| (&*r.tag, r.count)).collect();
        assert_eq!(rows, vec![("#a", 4), ("#b", 3)]);
        t.sub("#a", 4);
        assert_eq!(t.get("#a"), 0);
        assert_eq!(t.len(), 1);
        assert_eq!(t.ranked().len(), 1);
        // A tag added with a copy from elsewhere shares it.
        let shared: Tag = "#c".into();
        let (c, _) = t.add("#c", 1, Some(&shared));
        assert!(Tag::ptr_eq(&c, &shared));
        assert!(Tag::ptr_eq(t.tag("#c").unwrap(), &shared));
        assert_eq!(t, TagTable::from_counts(t.counts().clone()));
        let mut rows: Vec<Row> = t.ranked().iter().cloned().collect();
        rows.sort_by(|a, b| a.tag.cmp(&b.tag));
        let again = TagTable::from_rows_in_tag_order(rows);
        assert_eq!(again, t);
        assert_eq!(again.ranked(), t.ranked());
    }
}
