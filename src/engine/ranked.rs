//! The rows of a tag table in the table's order (count descending, then tag),
//! kept as a persistent B+tree: a copy is one reference, and a change copies
//! only the nodes on its path while an older copy still shares them.
//!
//! This is what lets the engine keep `tag_totals` and `tag_window` sorted as
//! the counts change and publish them after every batch without copying: the
//! published snapshot and the engine's working tree share every node the batch
//! did not touch. A batch that changes k counts in a table of n rows costs
//! O(k log n), and an idle batch costs nothing, however many tags are held.
//! Each node knows how many rows lie under each of its children, so the row at
//! a position is found in O(log n) too (SQL's `OFFSET`, a table's first rows).

use std::cmp::Ordering;
use std::sync::Arc;

/// A tag as the tables hold it: one allocation, shared by every table and
/// snapshot that shows it, behind a pointer of 8 bytes (an `Arc<str>` takes
/// 16: with millions of tags held in a map and in the tables' order, the
/// difference is tens of bytes a tag).
pub type Tag = arcstr::ArcStr;

/// A map keyed by tags. Each map hashes with a seed of its own: with one
/// hash function for all (FxHash), inserting one map's tags into another in
/// the first one's order (merging a batch into the totals, restoring them)
/// crowds them into neighbouring buckets, which made a restore of 10 million
/// tags spend two thirds of its 36 s probing.
pub type TagMap<V> = std::collections::HashMap<Tag, V, foldhash::fast::RandomState>;

/// One row of a tag table. Rows are ordered as the tables list them: by
/// count descending, then by tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub count: u64,
    pub tag: Tag,
    /// How much of `count` may not be the tag's own (0 but in a table kept
    /// to `--max-tags`, where a tag that takes an evicted tag's place starts
    /// from its count: see [`super::tag_table`]).
    pub error: u64,
    /// The tag's first 8 bytes, big-endian (zeros past its end): tags of
    /// one count are mostly told apart by it, without reading the tag
    /// itself, which lies elsewhere in memory (a cache miss at every
    /// comparison of a search otherwise).
    prefix: u64,
}

impl Row {
    pub fn new(count: u64, tag: Tag) -> Row {
        Row::with_error(count, tag, 0)
    }

    pub fn with_error(count: u64, tag: Tag, error: u64) -> Row {
        let mut first = [0u8; 8];
        let n = tag.len().min(8);
        first[..n].copy_from_slice(&tag.as_bytes()[..n]);
        Row { count, tag, error, prefix: u64::from_be_bytes(first) }
    }
}

impl Ord for Row {
    fn cmp(&self, other: &Self) -> Ordering {
        // Byte order of the prefixes is the tags' order as far as they go
        // (a tag has no NUL byte, so the zeros of a shorter one sort first,
        // as the shorter string does).
        other
            .count
            .cmp(&self.count)
            .then_with(|| self.prefix.cmp(&other.prefix))
            .then_with(|| self.tag.cmp(&other.tag))
    }
}

impl PartialOrd for Row {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Rows in a leaf, or children of an inner node, at most. A leaf's copy on
/// write is a copy of this many rows at most (24 bytes each).
const MAX: usize = 64;
/// A node left with fewer takes from a neighbour or merges with it.
const MIN: usize = MAX / 4;
/// How full a bulk-built leaf is: room for inserts without splitting at once.
const BULK_FILL: usize = MAX * 3 / 4;

#[derive(Clone, Debug)]
enum Node {
    Leaf(Vec<Row>),
    Inner(Inner),
}

#[derive(Clone, Debug)]
struct Inner {
    children: Vec<Arc<Node>>,
    /// Rows under each child.
    sizes: Vec<usize>,
    /// `seps[i]` separates `children[i]` and `children[i + 1]`: every row of
    /// the left one is smaller, and every row of the right one is not.
    seps: Vec<Row>,
}

impl Node {
    /// Entries: rows of a leaf, children of an inner node.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(rows) => rows.len(),
            Node::Inner(inner) => inner.children.len(),
        }
    }
}

/// The rows of a tag table, sorted (see the module's documentation).
#[derive(Clone, Debug, Default)]
pub struct Ranked {
    root: Option<Arc<Node>>,
    len: usize,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Ranked {}

/// Makes room for one more row in a leaf without doubling its allocation: a
/// leaf holds at most `MAX + 1` rows before it splits.
fn reserve_one(rows: &mut Vec<Row>) {
    if rows.len() == rows.capacity() {
        rows.reserve_exact((MAX + 1).saturating_sub(rows.len()).max(1));
    }
}

impl Ranked {
    pub fn new() -> Self {
        Ranked::default()
    }

    /// Rows already in the table's order, strictly increasing (no row twice).
    pub fn from_sorted(rows: Vec<Row>) -> Self {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        let len = rows.len();
        if len == 0 {
            return Ranked::default();
        }
        let mut level: Vec<(Arc<Node>, usize, Row)> = Vec::new();
        let mut rows = rows.into_iter();
        for size in even_groups(len) {
            let leaf: Vec<Row> = rows.by_ref().take(size).collect();
            let first = leaf[0].clone();
            level.push((Arc::new(Node::Leaf(leaf)), size, first));
        }
        while level.len() > 1 {
            let mut up = Vec::new();
            let mut nodes = level.into_iter();
            for width in even_groups(nodes.len()) {
                let group: Vec<_> = nodes.by_ref().take(width).collect();
                let first = group[0].2.clone();
                let size = group.iter().map(|g| g.1).sum();
                let seps = group[1..].iter().map(|g| g.2.clone()).collect();
                let (children, sizes) = group.into_iter().map(|(n, s, _)| (n, s)).unzip();
                up.push((Arc::new(Node::Inner(Inner { children, sizes, seps })), size, first));
            }
            level = up;
        }
        let (root, _, _) = level.pop().expect("one node");
        Ranked { root: Some(root), len }
    }

    /// Rows from any order (each tag once).
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a Tag, &'a u64)>) -> Self {
        let mut rows: Vec<Row> = counts.into_iter().map(|(t, n)| Row::new(*n, t.clone())).collect();
        rows.sort_unstable();
        Ranked::from_sorted(rows)
    }

    /// Rows of (tag, count) pairs in any order (each tag once).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut rows: Vec<Row> = pairs.into_iter().map(|(t, count)| Row::new(count, t.into())).collect();
        rows.sort_unstable();
        Ranked::from_sorted(rows)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a row; false if it was there already.
    pub fn insert(&mut self, row: Row) -> bool {
        let Some(root) = &mut self.root else {
            self.root = Some(Arc::new(Node::Leaf(vec![row])));
            self.len = 1;
            return true;
        };
        let (inserted, split) = insert(root, row);
        if let Some((sep, right, right_size)) = split {
            let left = root.clone();
            let left_size = self.len + usize::from(inserted) - right_size;
            *root = Arc::new(Node::Inner(Inner {
                children: vec![left, right],
                sizes: vec![left_size, right_size],
                seps: vec![sep],
            }));
        }
        self.len += usize::from(inserted);
        inserted
    }

    /// Removes a row; false if it was not there.
    pub fn remove(&mut self, row: &Row) -> bool {
        // Look before copying: a row that is not there copies nothing.
        let Some(root) = self.root.as_mut().filter(|r| contains(r, row)) else { return false };
        remove(root, row);
        self.len -= 1;
        collapse(&mut self.root);
        true
    }

    /// Removes a row that is there (one descent, no look first); returns it
    /// as the table held it.
    fn remove_present(&mut self, row: &Row) -> Row {
        let root = self.root.as_mut().expect("a row is there");
        let removed = remove(root, row);
        self.len -= 1;
        collapse(&mut self.root);
        removed
    }

    /// Moves `tag` from `old` (0: not in the table) to `new` (0: out of the
    /// table), keeping its error; the row (tag, old) must be there.
    pub fn set(&mut self, tag: &Tag, old: u64, new: u64) {
        if old == new {
            return;
        }
        let error = if old > 0 { self.remove_present(&Row::new(old, tag.clone())).error } else { 0 };
        if new > 0 {
            self.insert(Row::with_error(new, tag.clone(), error));
        }
    }

    /// The row of `tag` at `count`, as the table holds it.
    pub fn find(&self, count: u64, tag: &Tag) -> Option<&Row> {
        find(self.root.as_deref()?, &Row::new(count, tag.clone()))
    }

    /// The last row (the lowest count; of those, the last tag).
    pub fn last(&self) -> Option<&Row> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The row at `index` (0 is the first), if there are that many.
    pub fn get(&self, mut index: usize) -> Option<&Row> {
        if index >= self.len {
            return None;
        }
        let mut node = self.root.as_deref()?;
        loop {
            match node {
                Node::Leaf(rows) => return rows.get(index),
                Node::Inner(inner) => {
                    let mut child = 0;
                    while index >= inner.sizes[child] {
                        index -= inner.sizes[child];
                        child += 1;
                    }
                    node = &inner.children[child];
                }
            }
        }
    }

    /// The rows in order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// The rows in order from the one at `index`.
    pub fn iter_from(&self, mut index: usize) -> Iter<'_> {
        let mut stack = Vec::new();
        let mut node = self.root.as_deref();
        if index >= self.len {
            return Iter { stack, left: 0 };
        }
        let left = self.len - index;
        while let Some(n) = node {
            match n {
                Node::Leaf(_) => {
                    stack.push((n, index));
                    node = None;
                }
                Node::Inner(inner) => {
                    let mut child = 0;
                    while index >= inner.sizes[child] {
                        index -= inner.sizes[child];
                        child += 1;
                    }
                    stack.push((n, child));
                    node = Some(&inner.children[child]);
                }
            }
        }
        Iter { stack, left }
    }

    /// Every node's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        fn walk(
            node: &Node,
            root: bool,
            lo: Option<&Row>,
            hi: Option<&Row>,
            depth: usize,
            leaves: &mut Vec<usize>,
        ) -> usize {
            assert!(node.width() <= MAX, "a node of {} entries", node.width());
            if !root {
                assert!(node.width() >= MIN, "a node of {} entries", node.width());
            }
            match node {
                Node::Leaf(rows) => {
                    assert!(rows.windows(2).all(|w| w[0] < w[1]), "leaf out of order");
                    assert!(rows.iter().all(|r| lo.is_none_or(|lo| r >= lo) && hi.is_none_or(|hi| r < hi)));
                    leaves.push(depth);
                    rows.len()
                }
                Node::Inner(inner) => {
                    assert!(inner.children.len() >= 2, "an inner node with one child");
                    assert_eq!(inner.seps.len() + 1, inner.children.len());
                    assert_eq!(inner.sizes.len(), inner.children.len());
                    let mut total = 0;
                    for (i, child) in inner.children.iter().enumerate() {
                        let lo = if i == 0 { lo } else { Some(&inner.seps[i - 1]) };
                        let hi = if i == inner.seps.len() { hi } else { Some(&inner.seps[i]) };
                        let size = walk(child, false, lo, hi, depth + 1, leaves);
                        assert_eq!(size, inner.sizes[i], "size of child {i}");
                        total += size;
                    }
                    total
                }
            }
        }
        let mut leaves = Vec::new();
        let n = self.root.as_deref().map_or(0, |r| walk(r, true, None, None, 0, &mut leaves));
        assert_eq!(n, self.len);
        assert!(leaves.windows(2).all(|w| w[0] == w[1]), "leaves at different depths");
    }
}

/// Inserts into the subtree; returns whether the row was new, and the right
/// half (its first row, the node, its size) if the node split.
fn insert(node: &mut Arc<Node>, row: Row) -> (bool, Option<(Row, Arc<Node>, usize)>) {
    match Arc::make_mut(node) {
        Node::Leaf(rows) => {
            let Err(at) = rows.binary_search(&row) else { return (false, None) };
            reserve_one(rows);
            rows.insert(at, row);
            if rows.len() <= MAX {
                return (true, None);
            }
            let right: Vec<Row> = rows.split_off(rows.len() / 2);
            let sep = right[0].clone();
            let size = right.len();
            (true, Some((sep, Arc::new(Node::Leaf(right)), size)))
        }
        Node::Inner(inner) => {
            let i = inner.seps.partition_point(|s| *s <= row);
            let (inserted, split) = insert(&mut inner.children[i], row);
            inner.sizes[i] += usize::from(inserted);
            if let Some((sep, right, right_size)) = split {
                inner.sizes[i] -= right_size;
                inner.seps.insert(i, sep);
                inner.children.insert(i + 1, right);
                inner.sizes.insert(i + 1, right_size);
            }
            if inner.children.len() <= MAX {
                return (inserted, None);
            }
            let mid = inner.children.len() / 2;
            let children = inner.children.split_off(mid);
            let sizes = inner.sizes.split_off(mid);
            let seps = inner.seps.split_off(mid);
            let sep = inner.seps.pop().expect("a separator left of the middle");
            let size = sizes.iter().sum();
            (inserted, Some((sep, Arc::new(Node::Inner(Inner { children, sizes, seps })), size)))
        }
    }
}

/// Removes a row that is in the subtree, and returns it. A child left with
/// fewer than `MIN` entries is refilled from a neighbour or merged.
fn remove(node: &mut Arc<Node>, row: &Row) -> Row {
    match Arc::make_mut(node) {
        Node::Leaf(rows) => {
            let at = rows.binary_search(row).expect("the row is there");
            rows.remove(at)
        }
        Node::Inner(inner) => {
            let i = inner.seps.partition_point(|s| s <= row);
            let removed = remove(&mut inner.children[i], row);
            inner.sizes[i] -= 1;
            if inner.children[i].width() < MIN {
                rebalance(inner, i);
            }
            removed
        }
    }
}

fn contains(node: &Node, row: &Row) -> bool {
    find(node, row).is_some()
}

fn find<'a>(mut node: &'a Node, row: &Row) -> Option<&'a Row> {
    loop {
        match node {
            Node::Leaf(rows) => return rows.binary_search(row).ok().map(|at| &rows[at]),
            Node::Inner(inner) => node = &inner.children[inner.seps.partition_point(|s| s <= row)],
        }
    }
}

/// Child `i` of `inner` is thin: takes an entry from a neighbour that can
/// spare one, or else merges with a neighbour.
fn rebalance(inner: &mut Inner, i: usize) {
    let width = |j: usize| inner.children[j].width();
    if i > 0 && width(i - 1) > MIN {
        take_from_left(inner, i);
    } else if i + 1 < inner.children.len() && width(i + 1) > MIN {
        take_from_right(inner, i);
    } else if i > 0 {
        merge(inner, i - 1);
    } else if i + 1 < inner.children.len() {
        merge(inner, i);
    }
}

/// Moves the last entry of child `i - 1` to the front of child `i`.
fn take_from_left(inner: &mut Inner, i: usize) {
    let (before, after) = inner.children.split_at_mut(i);
    let (left, child) = (Arc::make_mut(&mut before[i - 1]), Arc::make_mut(&mut after[0]));
    let moved = match (left, child) {
        (Node::Leaf(left), Node::Leaf(child)) => {
            let row = left.pop().expect("left has rows");
            inner.seps[i - 1] = row.clone();
            reserve_one(child);
            child.insert(0, row);
            1
        }
        (Node::Inner(left), Node::Inner(child)) => {
            let node = left.children.pop().expect("left has children");
            let size = left.sizes.pop().expect("and sizes");
            let sep = left.seps.pop().expect("and separators");
            child.children.insert(0, node);
            child.sizes.insert(0, size);
            child.seps.insert(0, std::mem::replace(&mut inner.seps[i - 1], sep));
            size
        }
        _ => unreachable!("siblings are at the same depth"),
    };
    inner.sizes[i - 1] -= moved;
    inner.sizes[i] += moved;
}

/// Moves the first entry of child `i + 1` to the end of child `i`.
fn take_from_right(inner: &mut Inner, i: usize) {
    let (before, after) = inner.children.split_at_mut(i + 1);
    let (child, right) = (Arc::make_mut(&mut before[i]), Arc::make_mut(&mut after[0]));
    let moved = match (child, right) {
        (Node::Leaf(child), Node::Leaf(right)) => {
            let row = right.remove(0);
            inner.seps[i] = right[0].clone();
            reserve_one(child);
            child.push(row);
            1
        }
        (Node::Inner(child), Node::Inner(right)) => {
            let node = right.children.remove(0);
            let size = right.sizes.remove(0);
            let sep = right.seps.remove(0);
            child.children.push(node);
            child.sizes.push(size);
            child.seps.push(std::mem::replace(&mut inner.seps[i], sep));
            size
        }
        _ => unreachable!("siblings are at the same depth"),
    };
    inner.sizes[i + 1] -= moved;
    inner.sizes[i] += moved;
}

/// Merges child `i + 1` into child `i` (together they fit in one node).
fn merge(inner: &mut Inner, i: usize) {
    let right = inner.children.remove(i + 1);
    let right_size = inner.sizes.remove(i + 1);
    let sep = inner.seps.remove(i);
    let right = Arc::try_unwrap(right).unwrap_or_else(|shared| (*shared).clone());
    match (Arc::make_mut(&mut inner.children[i]), right) {
        (Node::Leaf(left), Node::Leaf(right)) => left.extend(right),
        (Node::Inner(left), Node::Inner(right)) => {
            left.seps.push(sep);
            left.seps.extend(right.seps);
            left.children.extend(right.children);
            left.sizes.extend(right.sizes);
        }
        _ => unreachable!("siblings are at the same depth"),
    }
    inner.sizes[i] += right_size;
}

/// A root that is an inner node with one child gives way to the child; an
/// empty leaf root leaves the tree empty.
fn collapse(root: &mut Option<Arc<Node>>) {
    loop {
        match root.as_deref() {
            Some(Node::Inner(inner)) if inner.children.len() == 1 => {
                *root = Some(inner.children[0].clone());
            }
            Some(Node::Leaf(rows)) if rows.is_empty() => {
                *root = None;
                return;
            }
            _ => return,
        }
    }
}

/// Sizes of groups that split `n` entries into as few nodes of at most
/// `BULK_FILL` as can hold them, as evenly as can be: with two groups or
/// more, none is below `BULK_FILL / 2`, so every node but the root has `MIN`.
fn even_groups(n: usize) -> impl Iterator<Item = usize> {
    let groups = n.div_ceil(BULK_FILL).max(1);
    let (base, extra) = (n / groups, n % groups);
    (0..groups).map(move |g| base + usize::from(g < extra))
}

/// The rows of a [`Ranked`] in order.
pub struct Iter<'a> {
    /// The path to the next row: each node with the index of the child (or,
    /// in the leaf, the row) next.
    stack: Vec<(&'a Node, usize)>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Row;

    fn next(&mut self) -> Option<&'a Row> {
        loop {
            let top = self.stack.len().checked_sub(1)?;
            let (node, at) = self.stack[top];
            match node {
                Node::Leaf(rows) => match rows.get(at) {
                    Some(row) => {
                        self.stack[top].1 += 1;
                        self.left -= 1;
                        return Some(row);
                    }
                    None => {
                        self.stack.pop();
                    }
                },
                Node::Inner(inner) => {
                    self.stack[top].1 = at + 1;
                    match inner.children.get(at + 1) {
                        Some(child) => descend(&mut self.stack, child),
                        None => {
                            self.stack.pop();
                        }
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Pushes the path from `node` down to its first row.
fn descend<'a>(stack: &mut Vec<(&'a Node, usize)>, mut node: &'a Node) {
    loop {
        stack.push((node, 0));
        match node {
            Node::Leaf(_) => return,
            Node::Inner(inner) => node = &inner.children[0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn row(count: u64, tag: &str) -> Row {
        Row::new(count, tag.into())
    }

    /// Holds the tree to a `BTreeSet` of the same rows: order, positions,
    /// iteration from every position, invariants.
    fn same(tree: &Ranked, oracle: &BTreeSet<Row>) {
        tree.check();
        let want: Vec<&Row> = oracle.iter().collect();
        let got: Vec<&Row> = tree.iter().collect();
        if let Some(i) = (0..got.len().max(want.len())).find(|i| got.get(*i) != want.get(*i)) {
            panic!(
                "{} rows, {} wanted; first difference at {i}: {:?} for {:?}",
                got.len(),
                want.len(),
                got.get(i),
                want.get(i)
            );
        }
        assert_eq!(tree.len(), want.len());
        for i in
            [0, 1, want.len() / 3, want.len() / 2, want.len().saturating_sub(1), want.len(), want.len() + 1]
        {
            assert_eq!(tree.get(i), want.get(i).copied(), "get({i})");
            assert_eq!(tree.iter_from(i).collect::<Vec<_>>(), want[i.min(want.len())..], "iter_from({i})");
            assert_eq!(tree.iter_from(i).len(), want.len().saturating_sub(i));
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u16),
        Remove(u64, u16),
        /// Moves the tag at this position (of the rows there are) to a count.
        Move(usize, u64),
        /// Takes a copy, changes the original, and checks the copy did not move.
        Share(u64, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1..20u64, 0..3000u16).prop_map(|(c, t)| Op::Insert(c, t)),
            2 => (1..20u64, 0..3000u16).prop_map(|(c, t)| Op::Remove(c, t)),
            3 => (any::<usize>(), 0..25u64).prop_map(|(i, c)| Op::Move(i, c)),
            1 => (1..20u64, 0..3000u16).prop_map(|(c, t)| Op::Share(c, t)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn behaves_like_a_sorted_set(start in 0..3000usize, ops in prop::collection::vec(op(), 1..2000)) {
            let mut oracle: BTreeSet<Row> = (0..start).map(|i| row(1 + (i as u64 * 7) % 13, &format!("#t{i}"))).collect();
            let mut tree = Ranked::from_sorted(oracle.iter().cloned().collect());
            same(&tree, &oracle);
            for (k, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Insert(c, t) => {
                        let r = row(c, &format!("#t{t}"));
                        prop_assert_eq!(tree.insert(r.clone()), oracle.insert(r));
                    }
                    Op::Remove(c, t) => {
                        let r = row(c, &format!("#t{t}"));
                        prop_assert_eq!(tree.remove(&r), oracle.remove(&r));
                    }
                    Op::Move(i, c) => {
                        if let Some(r) = oracle.iter().nth(i % oracle.len().max(1)).cloned() {
                            tree.set(&r.tag, r.count, c);
                            oracle.remove(&r);
                            if c > 0 {
                                oracle.insert(row(c, &r.tag));
                            }
                        }
                    }
                    Op::Share(c, t) => {
                        let copy = tree.clone();
                        let before: Vec<Row> = copy.iter().cloned().collect();
                        let r = row(c, &format!("#t{t}"));
                        if tree.remove(&r) {
                            oracle.remove(&r);
                        } else {
                            tree.insert(r.clone());
                            oracle.insert(r);
                        }
                        prop_assert_eq!(copy.iter().cloned().collect::<Vec<_>>(), before);
                        copy.check();
                    }
                }
                if k % 251 == 0 {
                    same(&tree, &oracle);
                }
            }
            same(&tree, &oracle);
            // Emptied, it is empty.
            for r in oracle.iter() {
                prop_assert!(tree.remove(r));
            }
            same(&tree, &BTreeSet::new());
        }
    }

    #[test]
    fn bulk_builds_of_every_small_size_are_valid() {
        // Every size up to a few levels of leaves, then a spread of larger ones.
        for n in (0..400).chain((400..20_000).step_by(397)) {
            let rows: BTreeSet<Row> = (0..n).map(|i| row(n as u64 - i as u64, &format!("#{i}"))).collect();
            let tree = Ranked::from_sorted(rows.iter().cloned().collect());
            same(&tree, &rows);
        }
    }

    #[test]
    fn rows_sort_by_count_descending_then_tag() {
        let mut rows = [row(1, "#b"), row(3, "#z"), row(1, "#a"), row(3, "#c")];
        rows.sort();
        let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.count, &*r.tag)).collect();
        assert_eq!(got, vec![(3, "#c"), (3, "#z"), (1, "#a"), (1, "#b")]);
    }
}
