//! The interfaces a run hands its results to. The engine owns them and the
//! sinks implement them (the terminal printer, the MongoDB results store, the
//! checkpoint), so the engine knows no sink.

use super::Totals;
use super::batch::Batch;
use super::state::Change;
use super::tables::Snapshot;
use std::future::Future;
use std::io;
use std::pin::Pin;

/// Where a run reports as it goes: the timer print, and the final tables.
pub trait Reporter: Send {
    /// The timer fired (or a batch closed, with `--print-every batch`).
    fn timer(&mut self) -> io::Result<()>;
    /// The run ended; `snapshot` holds the final tables.
    fn finished(&mut self, snapshot: &Snapshot) -> io::Result<()>;
}

/// A future that says to stop waiting (shutdown, or a deadline).
pub type GiveUp<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where each closed batch is stored before its tables are published.
#[async_trait::async_trait]
pub trait BatchStore: Send {
    /// Stores the parts of a closed batch (one per partition) and returns the
    /// totals to publish, which the store may hold beyond this engine's own
    /// (the work of a whole consumer group). Retries while the store is
    /// unreachable; `Ok(None)` if `give_up` comes first.
    async fn store(&mut self, parts: &[Batch], give_up: &mut GiveUp<'_>) -> anyhow::Result<Option<Totals>>;
}

/// Keeps the engine's running state across restarts (`--checkpoint`): each
/// batch's change is saved, with the source positions it reached, before the
/// batch's tables are published.
#[async_trait::async_trait]
pub trait StateStore: Send {
    /// Drops the parts of a closed batch that must not be counted: those read
    /// before their source rewound (their positions are not the source's now).
    fn admit(&self, parts: &mut Vec<Batch>);
    /// Saves a batch's change, all or nothing. Retries while saving fails;
    /// `Ok(false)` if `give_up` comes first (nothing of the batch is saved).
    async fn save(&mut self, change: &Change<'_>, give_up: &mut GiveUp<'_>) -> anyhow::Result<bool>;
}
