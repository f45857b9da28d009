//! The engine's running state as a checkpoint keeps it (`stream --checkpoint`):
//! what one batch changed ([`Change`]), saved after every batch, and what a
//! restart restores ([`Saved`]). The engine knows no storage: a
//! [`super::outputs::StateStore`] writes and reads these.
//!
//! A change holds only what the batch touched (its tags and days with their
//! new totals, its pane of the window, its row of the batch log), so saving
//! costs in proportion to the batch, not to the state.

use super::batch::DayStats;
use super::ranked::{Ranked, Row, Tag};
use super::tables::BatchRow;
use super::{Totals, window::Pane};
use crate::codec::Origin;
use crate::tweet::{Day, Lang};

/// The state a restart resumes from.
#[derive(Debug, Default, PartialEq)]
pub struct Saved {
    /// Batches applied since the state began; the window's panes are numbered by it.
    pub seq: u64,
    pub totals: Totals,
    /// The tag counts of recent batches, by batch number (the window's panes;
    /// a batch without tags has none).
    pub panes: Vec<(u64, Pane)>,
    /// The batch log, oldest first.
    pub batches: Vec<BatchRow>,
}

/// What one batch changed.
#[derive(Debug)]
pub struct Change<'a> {
    /// The batch's number ([`Saved::seq`] once it is saved).
    pub seq: u64,
    /// The tags the batch counted, with their new totals and errors (a
    /// total of 0: the tag left a table kept to `--max-tags`, and so did
    /// any other tag listed with 0).
    pub tags: Vec<(Tag, u64, u64)>,
    /// The days the batch added to, with their new totals.
    pub days: Vec<(Day, DayStats)>,
    /// The languages the batch added to, with their new totals.
    pub langs: Vec<(Lang, u64)>,
    /// The batch's tag counts as a pane of the window (None: no window).
    pub pane: Option<&'a [Row]>,
    /// Panes numbered below this are not needed any more.
    pub keep_panes_from: u64,
    /// The batch's row of the batch log.
    pub row: &'a BatchRow,
    /// Where the source stands after the batch, per partition (Kafka).
    pub origins: &'a [Origin],
    /// What the batch added to all tag totals together, and to all day counts.
    pub counted: (u64, u64),
    /// Every tag's total after the batch, in the tables' order: for a store
    /// that rewrites itself whole now and then (a copy is one reference).
    pub totals: &'a Ranked,
}
