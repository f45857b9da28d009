//! Results in MongoDB, exactly once (`stream --kafka … --results URI`).
//!
//! One document per topic partition holds that partition's totals (per-day
//! sentiment and tag counts) and `next_offset`, the first offset not yet counted.
//! After each batch, each partition's document is replaced in one atomic
//! conditional write whose filter matches the offset the batch started from:
//! a batch is stored whole or not at all, and never twice. The Kafka source
//! resumes each partition from `next_offset` (see
//! [`crate::sources::kafka::positions`]), so a crash at any point (before,
//! during or after the write, before the Kafka offset commit) loses nothing and
//! counts nothing twice. Kafka offsets are committed after the write, for
//! monitoring only.
//!
//! If the write finds the document further along (another engine of the group
//! stored that partition after a rebalance), the batch's part for that partition
//! is dropped and the source rewinds to where the document ends.
//!
//! The global tables are the sum over the group's partition documents; MongoDB
//! views `<group>.sentiment_by_day` and `<group>.tag_totals` compute them for
//! other readers.

use crate::codec::{PartitionId, Topics};
use crate::engine::Totals;
use crate::engine::batch::{Batch, DayStats};
use crate::engine::exact_sum::ExactSum;
use crate::engine::outputs::{BatchStore, GiveUp};
use crate::retry::Backoff;
use crate::sentiment::Model;
use crate::sources::acks::{Acknowledge, PositionStore, Resume};
use crate::tweet::date::parse_date;
use futures_util::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use std::time::Duration;

/// Where results are kept.
#[derive(Clone, Debug)]
pub struct ResultsConfig {
    pub uri: String,
    pub db: String,
    pub collection: String,
    pub group: String,
    pub topics: Topics,
    /// The sentiment model of the run (None: no sentiment): stored results
    /// of another model are refused, never mixed.
    pub model: Option<Model>,
}

/// A connection to the results collection for one group and topic.
#[derive(Clone)]
pub struct ResultsStore {
    coll: Collection<Document>,
    group: String,
    topics: Topics,
    model: Option<Model>,
}

/// What one partition has stored: its totals, where they end, and the
/// fingerprint of the message counted last (at `next_offset - 1`).
struct Stored {
    next_offset: i64,
    totals: Totals,
    last: Option<u64>,
}

impl ResultsStore {
    /// Connects (waiting for the server) and creates the views.
    pub async fn connect(config: &ResultsConfig) -> anyhow::Result<Self> {
        let client = crate::connect::mongo::connect(&config.uri, Duration::from_secs(60)).await?;
        let db = client.database(&config.db);
        let store = ResultsStore {
            coll: db.collection(&config.collection),
            group: config.group.clone(),
            topics: config.topics.clone(),
            model: config.model,
        };
        // Results of another model are refused now, before anything is counted.
        if let Some(d) = store.coll.find_one(store.of_this_job()).await? {
            store.read(&d)?;
        }
        store.create_views(&db, &config.collection).await;
        tracing::info!(
            "results: stored exactly once in {}.{} (group {}, {}); views {}.{}.sentiment_by_day, .tag_totals",
            config.db,
            config.collection,
            config.group,
            topic_list(&config.topics),
            config.db,
            config.group
        );
        Ok(store)
    }

    fn id(&self, partition: PartitionId) -> String {
        // Topic names cannot contain ':', so the id is unambiguous for any group name.
        format!("{}:{}:{}", self.topics.name(partition.topic), partition.partition, self.group)
    }

    /// The filter of every document of this group and these topics.
    fn of_this_job(&self) -> Document {
        doc! {"group": &self.group, "topic": {"$in": self.topics.names()}}
    }

    /// The document of a partition's stored results.
    fn document(&self, partition: PartitionId, stored: &Stored) -> Document {
        let mut d = to_document(stored, self.model);
        d.insert("_id", self.id(partition));
        d.insert("group", &self.group);
        d.insert("topic", self.topics.name(partition.topic));
        d.insert("partition", partition.partition);
        d
    }

    /// A partition's stored document, if any.
    async fn load(&self, partition: PartitionId) -> anyhow::Result<Option<Stored>> {
        let found = answered("a read", self.coll.find_one(doc! {"_id": self.id(partition)})).await??;
        found.map(|d| self.read(&d)).transpose()
    }

    /// The sum over every partition document of this group and topic.
    pub async fn totals(&self) -> anyhow::Result<Totals> {
        answered("a read of the totals", async {
            let mut cursor = self.coll.find(self.of_this_job()).await?;
            let mut all = Totals::default();
            while let Some(d) = cursor.try_next().await? {
                all.add_totals(&self.read(&d)?.totals);
            }
            Ok(all)
        })
        .await?
    }

    /// A stored document, refused if another model counted it.
    fn read(&self, d: &Document) -> anyhow::Result<Stored> {
        let stored = model_name(stored_model(d));
        if stored != model_name(self.model) {
            anyhow::bail!(
                "the results of group {} on {} in MongoDB were counted with --sentiment {stored}, \
                 and this run scores with --sentiment {}: adding them up would mix two measures. \
                 Run with --sentiment {stored}, or keep these results apart with another --group or --results-db",
                self.group,
                d.get_str("topic").map_or_else(|_| topic_list(&self.topics), |t| format!("topic {t}")),
                model_name(self.model)
            );
        }
        from_document(d, self.model)
    }

    /// Replaces the partition document if it still ends at `from` (or creates it
    /// if there is none). `Ok(false)`: it does not end there.
    async fn replace_if_at(
        &self,
        partition: PartitionId,
        from: i64,
        stored: &Stored,
    ) -> anyhow::Result<bool> {
        let id = self.id(partition);
        let d = self.document(partition, stored);
        let replacing = self.coll.replace_one(doc! {"_id": &id, "next_offset": from}, d).upsert(true);
        // A write without an answer may or may not have happened: the caller
        // reads it back before it tries again.
        match answered("a write", replacing).await? {
            Ok(_) => Ok(true),
            // The filter did not match an existing document, so the upsert
            // tried to insert a second one with the same _id.
            Err(e) if matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Views computing the global tables from the partition documents.
    async fn create_views(&self, db: &mongodb::Database, collection: &str) {
        let matching = doc! {"$match": self.of_this_job()};
        // VADER's sums are exact integers of ten-thousandths; TextBlob's are
        // the partitions' exact sums, each rounded to a double, added by
        // MongoDB (within a few units in the last place of the engine's).
        let (sum, score_sum) = match self.model {
            Some(Model::TextBlob) => ("$days.score_sum", Bson::from("$sum")),
            _ => ("$days.score_sum_e4", Bson::from(doc! {"$divide": ["$sum", 10_000]})),
        };
        let by_day = vec![
            matching.clone(),
            doc! {"$unwind": "$days"},
            doc! {"$group": {"_id": "$days.date", "sum": {"$sum": sum}, "score_count": {"$sum": "$days.count"}}},
            doc! {"$project": {"_id": 0, "date": "$_id", "score_sum": score_sum.clone(),
            "score_count": 1, "score_avg": {"$divide": [score_sum, "$score_count"]}, "model": {"$literal": model_name(self.model)}}},
            doc! {"$sort": {"date": 1}},
        ];
        let tags = vec![
            matching,
            doc! {"$unwind": "$tags"},
            doc! {"$group": {"_id": "$tags.tag", "count": {"$sum": "$tags.count"}}},
            doc! {"$project": {"_id": 0, "tag": "$_id", "count": 1}},
            doc! {"$sort": {"count": -1, "tag": 1}},
        ];
        for (name, pipeline) in [("sentiment_by_day", by_day), ("tag_totals", tags)] {
            let view = format!("{}.{name}", self.group);
            let create = doc! {"create": &view, "viewOn": collection, "pipeline": pipeline.clone()};
            let result = match db.run_command(create).await {
                Err(e) if matches!(&*e.kind, ErrorKind::Command(c) if c.code == 48) => {
                    // It exists (an earlier run): make sure it reads this topic.
                    db.run_command(doc! {"collMod": &view, "viewOn": collection, "pipeline": pipeline})
                        .await
                        .map(drop)
                }
                other => other.map(drop),
            };
            if let Err(e) = result {
                tracing::warn!("results: could not create the view {view}: {e}");
            }
        }
    }
}

#[async_trait::async_trait]
impl PositionStore for ResultsStore {
    async fn resume_from(&self, partition: PartitionId) -> anyhow::Result<Option<Resume>> {
        Ok(self.load(partition).await?.map(|s| Resume { next: s.next_offset, last: s.last }))
    }

    /// The partition's document is replaced by an empty one ending at `offset`.
    async fn reset(&self, partition: PartitionId, offset: i64) -> anyhow::Result<()> {
        let empty = Stored { next_offset: offset, totals: Totals::default(), last: None };
        let d = self.document(partition, &empty);
        self.coll.replace_one(doc! {"_id": self.id(partition)}, d).upsert(true).await?;
        Ok(())
    }
}

/// The results sink of the engine: stores each closed batch, per partition.
pub struct Results {
    store: ResultsStore,
    /// The source's handle: epochs, stored offsets, rewinds.
    acks: Arc<dyn Acknowledge>,
    /// What each partition stored last (a cache of its document).
    stored: FxHashMap<PartitionId, Stored>,
    stores: u64,
    /// For crash tests (debug builds only): abort the process right after
    /// this many batches that stored something, before committing offsets to
    /// Kafka.
    pub crash_after_stores: Option<u64>,
}

/// Stored or not: how one partition's part of a batch ended.
enum Outcome {
    Stored(i64),
    Dropped,
}

impl Results {
    pub fn new(store: ResultsStore, acks: Arc<dyn Acknowledge>) -> Self {
        Results { store, acks, stored: FxHashMap::default(), stores: 0, crash_after_stores: None }
    }
}

#[async_trait::async_trait]
impl BatchStore for Results {
    /// Stores the parts of a closed batch and returns the global totals. Retries
    /// while MongoDB is unreachable; `Ok(None)` if `give_up` fires first (then
    /// nothing more is stored or committed: the batch is read again on restart).
    async fn store(&mut self, parts: &[Batch], give_up: &mut GiveUp<'_>) -> anyhow::Result<Option<Totals>> {
        let mut stored = Vec::new();
        for part in parts {
            let Some(origin) = part.origin else { continue };
            let mut backoff = Backoff::default();
            loop {
                match self.store_part(part).await {
                    Ok(Outcome::Stored(next)) => {
                        crate::metrics::metrics().result_writes.inc();
                        stored.push((origin.partition, next));
                        break;
                    }
                    Ok(Outcome::Dropped) => break,
                    Err(e) => {
                        let part = self.store.topics.describe(origin.partition);
                        tracing::warn!(error = %format!("{e:#}"), part = %part, "results: storing {part} failed ({e:#}); retrying");
                        crate::metrics::metrics().result_retries.inc();
                        // The write may or may not have happened: read it back next time.
                        self.stored.remove(&origin.partition);
                        if !backoff.wait(&mut *give_up).await {
                            return Ok(None);
                        }
                    }
                }
            }
        }
        if !stored.is_empty() {
            self.stores += 1;
            // The crash tests' hook: compiled into debug builds only.
            #[cfg(debug_assertions)]
            if self.crash_after_stores == Some(self.stores) {
                tracing::error!("results: aborting after {} stored batches, as asked", self.stores);
                std::process::abort();
            }
            self.acks.stored(&stored);
        }
        let mut backoff = Backoff::default();
        loop {
            match self.store.totals().await {
                Ok(t) => return Ok(Some(t)),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "results: reading the totals failed ({e:#}); retrying");
                    if !backoff.wait(&mut *give_up).await {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

impl Results {
    async fn store_part(&mut self, part: &Batch) -> anyhow::Result<Outcome> {
        let origin = part.origin.expect("checked by the caller");
        let p = origin.partition;
        if self.acks.epoch(p) != Some(origin.epoch) {
            tracing::debug!(
                "{}: dropping results read before a rewind or rebalance",
                self.store.topics.describe(p)
            );
            return Ok(Outcome::Dropped);
        }
        if self.stored.get(&p).is_none_or(|s| s.next_offset != origin.first) {
            let fresh = self.store.load(p).await?;
            // Nothing stored yet: this batch starts the partition's record.
            let fresh =
                fresh.unwrap_or(Stored { next_offset: origin.first, totals: Totals::default(), last: None });
            self.stored.insert(p, fresh);
        }
        let stored = self.stored.get_mut(&p).expect("just ensured");
        if stored.next_offset != origin.first {
            return Ok(self.someone_else_stored(p, origin.next));
        }
        stored.totals.add(part);
        stored.next_offset = origin.next;
        stored.last = Some(origin.last);
        let written = self.store.replace_if_at(p, origin.first, stored).await;
        match written {
            Ok(true) => Ok(Outcome::Stored(origin.next)),
            Ok(false) => {
                self.stored.remove(&p);
                if let Some(fresh) = self.store.load(p).await? {
                    self.stored.insert(p, fresh);
                }
                Ok(self.someone_else_stored(p, origin.next))
            }
            Err(e) => Err(e),
        }
    }

    /// The partition's document does not end where this batch starts: the part
    /// is dropped and the source continues from where the document ends.
    fn someone_else_stored(&mut self, p: PartitionId, our_next: i64) -> Outcome {
        let Some(at) = self.stored.get(&p).map(|s| s.next_offset) else { return Outcome::Dropped };
        if at == our_next {
            // Exactly this range is stored (a write whose reply was lost): done.
            return Outcome::Stored(at);
        }
        tracing::info!(
            "{}: results are stored up to offset {at} by another consumer; continuing from there",
            self.store.topics.describe(p)
        );
        self.acks.stored_elsewhere(p, at);
        Outcome::Dropped
    }
}

/// `topic T` or `topics T, U`, for messages.
fn topic_list(topics: &Topics) -> String {
    let s = if topics.names().len() == 1 { "" } else { "s" };
    format!("topic{s} {}", topics.names().join(", "))
}

/// The name a model is stored under (`none`: no sentiment).
fn model_name(model: Option<Model>) -> &'static str {
    model.map_or("none", Model::name)
}

/// The model a document was counted with: documents written before models
/// were stored are VADER's.
fn stored_model(d: &Document) -> Option<Model> {
    match d.get_str("model") {
        Err(_) => Some(Model::Vader),
        Ok(name) => Model::from_name(name),
    }
}

/// A partition's results as a document. Per day: VADER's sum as the exact
/// integer of ten-thousandths (`score_sum_e4`); TextBlob's as the exact sum
/// rounded (`score_sum`) and as doubles whose exact sum it is
/// (`score_sum_parts`, read back when the run resumes).
fn to_document(s: &Stored, model: Option<Model>) -> Document {
    let days: Vec<Bson> = s
        .totals
        .days
        .iter()
        .map(|(day, st)| {
            let mut d = doc! {"date": day.to_string(), "count": st.count as i64};
            match model {
                Some(Model::TextBlob) => {
                    d.insert("score_sum", st.sum.to_f64());
                    d.insert("score_sum_parts", st.sum.to_parts());
                }
                _ => {
                    // VADER adds whole ten-thousandths only, so the sum is an
                    // integer; beyond i64 would take 10^15 tweets.
                    d.insert("score_sum_e4", st.sum.to_i64().unwrap_or(i64::MAX));
                }
            }
            Bson::Document(d)
        })
        .collect();
    let mut tags: Vec<(&str, u64)> = s.totals.tags.iter().map(|(t, n)| (&**t, *n)).collect();
    tags.sort_unstable();
    let tags: Vec<Bson> =
        tags.into_iter().map(|(t, n)| Bson::Document(doc! {"tag": t, "count": n as i64})).collect();
    let mut d = doc! {"next_offset": s.next_offset, "days": days, "tags": tags, "model": model_name(model),
    "updated": mongodb::bson::DateTime::now()};
    if let Some(last) = s.last {
        // The fingerprint's bits, as BSON has no unsigned integers.
        d.insert("last_fingerprint", last as i64);
    }
    d
}

fn from_document(d: &Document, model: Option<Model>) -> anyhow::Result<Stored> {
    let bad = |what: &str| anyhow::anyhow!("results document {:?}: bad {what}", d.get("_id"));
    let int = |d: &Document, key: &str| -> anyhow::Result<i64> {
        match d.get(key) {
            Some(Bson::Int64(n)) => Ok(*n),
            Some(Bson::Int32(n)) => Ok(i64::from(*n)),
            _ => Err(bad(key)),
        }
    };
    let mut totals = Totals::default();
    for day in d.get_array("days").map_err(|_| bad("days"))? {
        let day = day.as_document().ok_or_else(|| bad("days"))?;
        let date = day.get_str("date").ok().and_then(parse_date).ok_or_else(|| bad("date"))?;
        let mut sum = ExactSum::default();
        match model {
            Some(Model::TextBlob) => {
                let parts = day.get_array("score_sum_parts").map_err(|_| bad("score_sum_parts"))?;
                let parts: Option<Vec<f64>> = parts.iter().map(Bson::as_f64).collect();
                sum =
                    parts.as_deref().and_then(ExactSum::from_parts).ok_or_else(|| bad("score_sum_parts"))?;
            }
            _ => sum.add_i64(int(day, "score_sum_e4")?),
        }
        totals.days.entry(date).or_default().add(&DayStats { sum, count: int(day, "count")? as u64 });
    }
    for tag in d.get_array("tags").map_err(|_| bad("tags"))? {
        let tag = tag.as_document().ok_or_else(|| bad("tags"))?;
        let name = tag.get_str("tag").map_err(|_| bad("tag"))?;
        totals.tags.add(name, int(tag, "count")? as u64, None);
    }
    // Documents written before fingerprints were kept have none.
    let last = d.get("last_fingerprint").map(|_| int(d, "last_fingerprint").map(|n| n as u64)).transpose()?;
    Ok(Stored { next_offset: int(d, "next_offset")?, totals, last })
}

/// How long a MongoDB operation may go unanswered. The driver gives up
/// selecting a server after 2 s, but an operation sent on a connection to a
/// server that went away and came back can wait for ever; past this it is an
/// error, and the store's retry loop goes on.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// `operation`'s outcome, or an error if MongoDB did not answer within
/// [`ANSWER_WITHIN`].
async fn answered<T>(what: &str, operation: impl std::future::IntoFuture<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(ANSWER_WITHIN, operation.into_future())
        .await
        .map_err(|_| anyhow::anyhow!("MongoDB did not answer {what} within {ANSWER_WITHIN:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tweet::Day;

    #[test]
    fn documents_round_trip() {
        let day = Day::from_ymd(2015, 11, 1).unwrap();
        for (model, scores) in
            [(Some(Model::Vader), [-0.5, 0.1234, 0.9]), (Some(Model::TextBlob), [-0.1, 1.0 / 3.0, 0.7])]
        {
            let mut totals = Totals::default();
            totals.tags.add("#a.b$c", 3, None);
            totals.tags.add("#z", 1, None);
            let mut stats = DayStats::default();
            for s in scores {
                stats.add_score(model.unwrap(), s);
            }
            totals.days.insert(day, stats);
            let stored = Stored { next_offset: 42, totals: totals.clone(), last: Some(u64::MAX - 7) };
            let d = to_document(&stored, model);
            assert_eq!(stored_model(&d), model);
            let back = from_document(&d, model).unwrap();
            assert_eq!(back.next_offset, 42);
            assert_eq!(back.totals, totals, "{model:?}");
            assert_eq!(back.last, Some(u64::MAX - 7));
        }
        let old = Stored { next_offset: 3, totals: Totals::default(), last: None };
        let mut d = to_document(&old, Some(Model::Vader));
        assert_eq!(from_document(&d, Some(Model::Vader)).unwrap().last, None);
        // Documents from before models were stored are VADER's.
        d.remove("model");
        assert_eq!(stored_model(&d), Some(Model::Vader));
    }
}
