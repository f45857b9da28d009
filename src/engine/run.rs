//! Drives an [`Engine`]: chunks from a source, ticks from the batch clock, the
//! timer print, stop conditions and shutdown, in one task.

use super::Engine;
use super::clock::{BatchClock, Tick};
use super::outputs::{BatchStore, GiveUp, Reporter, StateStore};
use crate::codec::Chunk;
use crate::time::now_millis;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// When the top tags are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintEvery {
    /// After every batch.
    Batch,
    /// On a timer, like the original job's print loop.
    Every(Duration),
    Never,
}

/// When the run stops by itself.
#[derive(Clone, Debug, Default)]
pub struct StopWhen {
    /// After this many batches.
    pub batches: Option<u64>,
    /// After this many empty batches in a row, once data has been seen.
    pub idle_batches: Option<u64>,
    /// Once this many records have been counted (u64::MAX while not yet known),
    /// e.g. everything a producer delivered.
    pub records: Option<Arc<AtomicU64>>,
}

/// Why the run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    BatchLimit,
    Idle,
    Drained,
    /// The batch clock stopped (manual batches: stdin ended).
    ClockStopped,
    /// Every source has ended (files read to their end): nothing more can come.
    SourcesDone,
    Shutdown,
}

/// How long the last batch may wait for the results store at shutdown.
const FINAL_STORE_PATIENCE: Duration = Duration::from_secs(30);

/// How a run goes: its batch clock, reporting, stop conditions and store.
pub struct Plan<'a> {
    pub clock: BatchClock,
    pub print_every: PrintEvery,
    pub stop: StopWhen,
    pub reporter: &'a mut dyn Reporter,
    /// Every batch is stored here before its tables are published.
    pub store: Option<&'a mut dyn BatchStore>,
    /// Every batch's change of the state is saved here before its tables are
    /// published.
    pub checkpoint: Option<&'a mut dyn StateStore>,
    /// The source can read again what was not stored (Kafka), or not (a socket).
    pub replayable: bool,
}

/// Runs until a stop condition, the end of manual ticks, the end of every
/// source, or `shutdown`; then closes the open batch if it has records and
/// reports the final tables.
pub async fn run(
    engine: &mut Engine,
    mut source: mpsc::Receiver<Chunk>,
    plan: Plan<'_>,
    shutdown: CancellationToken,
) -> anyhow::Result<Ended> {
    let Plan { mut clock, print_every, stop, reporter, mut store, mut checkpoint, replayable } = plan;
    let mut timer = match print_every {
        PrintEvery::Every(period) => {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(t)
        }
        _ => None,
    };
    let mut progress = Progress::default();
    let ended = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Ended::Shutdown,
            tick = clock.tick() => {
                let Tick::Batch { batch_time, delay } = tick else { break Ended::ClockStopped };
                take_queued(engine, &mut source).await;
                let give_up = Box::pin(shutdown.cancelled());
                let stores = (store.as_deref_mut(), checkpoint.as_deref_mut());
                let closing = close_batch(engine, stores, give_up, (batch_time, delay), Which::Due);
                let Some(records) = closing.await? else { break Ended::Shutdown };
                if print_every == PrintEvery::Batch {
                    reporter.timer()?;
                }
                if let Some(ended) = progress.after_batch(records, &stop, engine.seen_data) {
                    break ended;
                }
            }
            // Before the source, which always has a chunk ready while the engine
            // is overloaded, so that the print still comes on time.
            _ = async { timer.as_mut().expect("guarded").tick().await }, if timer.is_some() => {
                reporter.timer()?;
            }
            chunk = source.recv() => match chunk {
                Some(chunk) => engine.ingest(chunk).await,
                None => break Ended::SourcesDone,
            },
        }
    };
    if matches!(ended, Ended::Shutdown | Ended::ClockStopped | Ended::SourcesDone) {
        // Take what already arrived, then finish the current batch.
        take_queued(engine, &mut source).await;
        let give_up = Box::pin(tokio::time::sleep(FINAL_STORE_PATIENCE));
        let stores = (store, checkpoint);
        let closed =
            close_batch(engine, stores, give_up, (now_millis(), Duration::ZERO), Which::Last).await?;
        match closed {
            Some(_) => {}
            None if replayable => {
                tracing::warn!(
                    "the last batch could not be stored; its records will be read again on restart"
                )
            }
            None => tracing::warn!(
                "the last batch could not be stored: its records are not counted, and a socket cannot send \
                 them again"
            ),
        }
    }
    reporter.finished(&engine.tables().snapshot())?;
    Ok(ended)
}

/// The results store and the checkpoint of a run, if it has them.
type Stores<'r, 's> = (Option<&'r mut (dyn BatchStore + 's)>, Option<&'r mut (dyn StateStore + 's)>);

/// Closes the open batch, stores it (if there is a results store), merges it
/// into the state, saves the change (if there is a checkpoint) and publishes
/// it; returns its record count. `None`: a store gave up (nothing published).
/// With `Last`, an empty batch is not published (the run ends; a batch was not due).
async fn close_batch(
    engine: &mut Engine,
    (store, checkpoint): Stores<'_, '_>,
    mut give_up: GiveUp<'_>,
    (batch_time, delay): (i64, Duration),
    which: Which,
) -> anyhow::Result<Option<u64>> {
    let mut closed = engine.flush().await;
    if which == Which::Last && closed.parts.iter().all(|p| p.records == 0) {
        return Ok(Some(0));
    }
    if let Some(c) = &checkpoint {
        c.admit(&mut closed.parts);
    }
    let storing = std::time::Instant::now();
    let stored = match store {
        Some(s) => match s.store(&closed.parts, &mut give_up).await? {
            Some(totals) => Some(totals),
            None => return Ok(None),
        },
        None => None,
    };
    // Storing is part of processing the batch.
    closed.busy += storing.elapsed();
    let applied = engine.apply(closed, stored, batch_time, delay);
    if let Some(c) = checkpoint
        && !c.save(&engine.change(&applied), &mut give_up).await?
    {
        return Ok(None);
    }
    Ok(Some(engine.publish(applied).records))
}

/// A batch closed at its time, or the last one when the run ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Due,
    Last,
}

/// Counts batches, records and idle batches for the stop conditions.
#[derive(Default)]
struct Progress {
    batches: u64,
    idle: u64,
    records: u64,
}

impl Progress {
    /// Takes in a closed batch of `records`; says whether the run ends here.
    fn after_batch(&mut self, records: u64, stop: &StopWhen, seen_data: bool) -> Option<Ended> {
        self.batches += 1;
        self.idle = if records == 0 { self.idle + 1 } else { 0 };
        self.records += records;
        if stop.records.as_ref().is_some_and(|target| self.records >= target.load(Ordering::Acquire)) {
            return Some(Ended::Drained);
        }
        if stop.batches.is_some_and(|n| self.batches >= n) {
            return Some(Ended::BatchLimit);
        }
        if seen_data && stop.idle_batches.is_some_and(|n| self.idle >= n) {
            return Some(Ended::Idle);
        }
        None
    }
}

/// Ingests the chunks queued right now: they arrived before the tick, so they
/// belong to the batch it closes. Chunks the source queues meanwhile are left
/// for the next batch. (Draining until the queue is empty would never end while
/// the source reads faster than the engine scores: the batch would stay open
/// for as long as the overload lasts, and the ticks it held up would then close
/// as a burst of empty batches.)
async fn take_queued(engine: &mut Engine, source: &mut mpsc::Receiver<Chunk>) {
    for _ in 0..source.len() {
        match source.try_recv() {
            Ok(chunk) => engine.ingest(chunk).await,
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::LineCodec;
    use crate::engine::batch::Operators;
    use crate::engine::ranked::Ranked;
    use crate::transforms::hashtags::HashtagMode;
    use crate::tweet::InputFormat;
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;

    fn chunk(text: &str) -> Chunk {
        LineCodec::new(1 << 20).decode(&mut BytesMut::from(text)).unwrap().unwrap()
    }

    /// A reporter that reports nothing.
    struct Silent;

    impl Reporter for Silent {
        fn timer(&mut self) -> std::io::Result<()> {
            Ok(())
        }
        fn finished(&mut self, _: &crate::engine::tables::Snapshot) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A plan that reports nothing.
    fn quiet(clock: BatchClock, stop: StopWhen, reporter: &mut Silent) -> Plan<'_> {
        Plan {
            clock,
            print_every: PrintEvery::Never,
            stop,
            reporter,
            store: None,
            checkpoint: None,
            replayable: false,
        }
    }

    fn engine() -> Engine {
        let window = crate::engine::window::WindowSpec { size: 3, slide: 1 };
        Engine::new(
            Operators {
                input: InputFormat::Text,
                hashtags: HashtagMode::Twitter,
                sentiment: Some(crate::sentiment::Model::Vader),
                select: crate::transforms::select::Select::default(),
                undated: crate::engine::batch::Undated::Skip,
            },
            2,
            Some(window),
        )
    }

    /// When every source has ended (the channel is closed: files read to
    /// their end), the run ends at once with what they sent in a last batch.
    #[tokio::test(start_paused = true)]
    async fn the_run_ends_when_its_sources_end() {
        let mut engine = engine();
        let tables = engine.tables();
        let (tx, rx) = mpsc::channel(8);
        tx.send(chunk("#a #b\n#a\n")).await.unwrap();
        drop(tx);
        let clock = BatchClock::interval(Duration::from_secs(3600));
        let mut printer = Silent;
        let started = tokio::time::Instant::now();
        let ended =
            run(&mut engine, rx, quiet(clock, StopWhen::default(), &mut printer), CancellationToken::new())
                .await
                .unwrap();
        assert_eq!(ended, Ended::SourcesDone);
        assert!(started.elapsed() < Duration::from_secs(1), "not at the next tick");
        let snap = tables.snapshot();
        assert_eq!(snap.batches.iter().map(|b| b.records).collect::<Vec<_>>(), vec![2]);
        assert_eq!(snap.tag_totals, Ranked::from_pairs([("#a", 2), ("#b", 1)]));
    }

    /// Batches follow tokio's (paused) clock: aligned batch times, one batch per
    /// interval, empty intervals give empty batches, records land in the batch
    /// of the interval they arrived in.
    #[tokio::test(start_paused = true)]
    async fn interval_batches_follow_the_clock() {
        let mut engine = engine();
        let tables = engine.tables();
        let (tx, rx) = mpsc::channel(8);
        // The source stays open (a socket's would): the run goes on.
        let _open = tx.clone();
        let clock = BatchClock::interval(Duration::from_secs(10));
        let BatchClock::Interval { next_time_ms: first_batch, .. } = clock else { unreachable!() };
        assert_eq!(first_batch % 10_000, 0, "batch times are multiples of the interval");
        let feeder = tokio::spawn(async move {
            tx.send(chunk("#a #b\n#a\n")).await.unwrap();
            // Into the second interval, then two empty ones.
            tokio::time::sleep(Duration::from_secs(10)).await;
            tx.send(chunk("#b\n")).await.unwrap();
        });
        let mut printer = Silent;
        let stop = StopWhen { batches: Some(4), ..StopWhen::default() };
        let ended =
            run(&mut engine, rx, quiet(clock, stop, &mut printer), CancellationToken::new()).await.unwrap();
        feeder.await.unwrap();
        assert_eq!(ended, Ended::BatchLimit);
        let snap = tables.snapshot();
        let times: Vec<i64> = snap.batches.iter().map(|b| b.batch_time).collect();
        assert_eq!(times, (0..4).map(|k| first_batch + k * 10_000).collect::<Vec<_>>());
        let records: Vec<u64> = snap.batches.iter().map(|b| b.records).collect();
        assert_eq!(records, vec![2, 1, 0, 0]);
        assert_eq!(snap.tag_totals, Ranked::from_pairs([("#a", 2), ("#b", 2)]));
        assert!(snap.tag_counts.is_empty(), "the latest batch was empty");
        // The 3-batch window holds batches 2–4: the first batch's tags expired.
        assert_eq!(snap.tag_window, Some(Ranked::from_pairs([("#b", 1)])));
    }

    /// A tick closes its batch with the chunks queued when it came, not with
    /// those a fast source keeps queueing while they are ingested; otherwise an
    /// overloaded engine would hold the batch open as long as the overload
    /// lasts.
    #[tokio::test(start_paused = true)]
    async fn a_tick_takes_only_the_chunks_queued_before_it() {
        let mut engine = engine();
        let tables = engine.tables();
        let queued = 256;
        let (tx, rx) = mpsc::channel(queued);
        for _ in 0..queued {
            tx.send(chunk("#early\n")).await.unwrap();
        }
        let (tick, ticks) = mpsc::channel(1);
        tick.send(()).await.unwrap();
        // The source goes on reading: a late chunk whenever the queue has room.
        let feeder = tokio::spawn(async move {
            let mut sent = 0;
            while sent < 4 * queued && tx.send(chunk("#late\n")).await.is_ok() {
                sent += 1;
            }
            sent
        });
        let mut printer = Silent;
        let stop = StopWhen { batches: Some(1), ..StopWhen::default() };
        let clock = BatchClock::manual(ticks);
        let ended =
            run(&mut engine, rx, quiet(clock, stop, &mut printer), CancellationToken::new()).await.unwrap();
        assert_eq!(ended, Ended::BatchLimit);
        let late_sent = feeder.await.unwrap();
        assert!(late_sent > 0, "the source queued late chunks while the batch was open");
        let snap = tables.snapshot();
        assert_eq!(snap.batches.iter().map(|b| b.records).collect::<Vec<_>>(), vec![queued as u64]);
        assert_eq!(snap.tag_counts, Ranked::from_pairs([("#early", queued as u64)]));
    }

    /// Records, at each timer print, how many chunks were still queued.
    struct QueuedAtPrint(mpsc::Sender<Chunk>, Arc<std::sync::Mutex<Vec<usize>>>);

    impl Reporter for QueuedAtPrint {
        fn timer(&mut self) -> std::io::Result<()> {
            self.1.lock().unwrap().push(self.0.max_capacity() - self.0.capacity());
            Ok(())
        }
        fn finished(&mut self, _: &crate::engine::tables::Snapshot) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Yields to the engine until `done`, or fails after a bounded number of turns.
    async fn until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..1_000_000 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("never happened: {what}");
    }

    /// The timer print comes on time even while the source always has a chunk
    /// ready (an overloaded engine), not only once the source's queue runs dry.
    #[tokio::test(start_paused = true)]
    async fn the_timer_prints_while_chunks_keep_coming() {
        let mut engine = engine();
        let total = 4096;
        let (tx, rx) = mpsc::channel(total);
        for _ in 0..total {
            tx.send(chunk("#a\n")).await.unwrap();
        }
        let queued_at_print = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut reporter = QueuedAtPrint(tx.clone(), queued_at_print.clone());
        let (tick, ticks) = mpsc::channel(1);
        let running = tokio::spawn(async move {
            let plan = Plan {
                clock: BatchClock::manual(ticks),
                print_every: PrintEvery::Every(Duration::from_secs(1)),
                stop: StopWhen::default(),
                reporter: &mut reporter,
                store: None,
                checkpoint: None,
                replayable: false,
            };
            run(&mut engine, rx, plan, CancellationToken::new()).await.unwrap()
        });
        // Once the engine is taking chunks, let the print time pass.
        until("the engine takes chunks", || tx.capacity() >= 16).await;
        tokio::time::advance(Duration::from_millis(1500)).await;
        until("the engine takes every chunk", || tx.capacity() == total).await;
        drop(tick);
        assert_eq!(running.await.unwrap(), Ended::ClockStopped);
        let queued = queued_at_print.lock().unwrap()[0];
        assert!(queued > 0, "the first print waited until the source's queue was empty");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_when_idle_after_data() {
        let mut engine = engine();
        let (tx, rx) = mpsc::channel(8);
        tx.send(chunk("#x\n")).await.unwrap();
        let mut printer = Silent;
        let stop = StopWhen { idle_batches: Some(3), ..StopWhen::default() };
        let clock = BatchClock::interval(Duration::from_secs(1));
        let ended = run(&mut engine, rx, quiet(clock, stop, &mut printer), CancellationToken::new()).await;
        assert_eq!(ended.unwrap(), Ended::Idle);
        assert_eq!(engine.tables().snapshot().batches.len(), 4);
        drop(tx);
    }
}
