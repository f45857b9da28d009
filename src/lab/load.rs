//! `load`: a tweets data set (any file [`crate::files`] reads) into a MongoDB
//! collection, streamed and inserted in batches. A file of which no row could
//! be read is an error that says why.

use crate::files::rows::{self, Skip};
use crate::progress::Progress;
use mongodb::bson::Document;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// What to load where.
#[derive(Clone, Debug)]
pub struct Load {
    pub file: PathBuf,
    pub uri: String,
    pub db: String,
    pub collection: String,
    /// Drop the collection first (the lab's `mode("overwrite")`).
    pub overwrite: bool,
    pub batch_size: usize,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Summary {
    pub read: u64,
    pub inserted: u64,
    pub skipped: BTreeMap<Skip, u64>,
    pub elapsed: Duration,
}

/// Why a file gave no row: none there, or each one's reason.
pub fn nothing_read(read: u64, skipped: &BTreeMap<Skip, u64>) -> String {
    if read == 0 {
        return "no rows in it".to_owned();
    }
    let reasons: Vec<String> = skipped
        .iter()
        .map(|(skip, n)| match skip {
            Skip::NoText => format!(
                "{n} with no tweet text: a column or field named one of {}",
                crate::tweet::record::TEXT_FIELDS.join(", ")
            ),
            _ => format!("{n} {}", skip.reason()),
        })
        .collect();
    format!("none of its {read} rows could be read ({})", reasons.join("; "))
}

pub async fn run(job: Load) -> anyhow::Result<Summary> {
    let client = crate::connect::mongo::connect(&job.uri, Duration::from_secs(60)).await?;
    let coll = client.database(&job.db).collection::<Document>(&job.collection);
    if job.overwrite {
        coll.drop().await?;
    }
    let (tx, mut rx) = mpsc::channel::<Vec<Document>>(4);
    let (file, batch_size) = (job.file.clone(), job.batch_size.max(1));
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, BTreeMap<Skip, u64>)> {
        let (mut read, mut skipped) = (0u64, BTreeMap::new());
        let mut batch = Vec::with_capacity(batch_size);
        let mut open = true;
        rows::read(&file, |row| {
            read += 1;
            match row {
                Ok(doc) => {
                    batch.push(doc);
                    if batch.len() == batch_size {
                        open = tx
                            .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(batch_size)))
                            .is_ok();
                    }
                }
                Err(skip) => *skipped.entry(skip).or_insert(0) += 1,
            }
            open
        })?;
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        Ok((read, skipped))
    });
    let mut progress = Progress::new("loaded");
    let mut inserted = 0u64;
    while let Some(batch) = rx.recv().await {
        let n = batch.len() as u64;
        coll.insert_many(batch)
            .ordered(false)
            .await
            .map_err(|e| anyhow::anyhow!("insert into {}.{}: {e}", job.db, job.collection))?;
        inserted += n;
        progress.update(inserted);
    }
    let (read, skipped) = reader.await??;
    if inserted == 0 {
        anyhow::bail!("{}: {}", job.file.display(), nothing_read(read, &skipped));
    }
    Ok(Summary { read, inserted, skipped, elapsed: progress.finish() })
}
