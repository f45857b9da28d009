//! Per-record transforms of the micro-batch job: hashtag extraction and the
//! per-day sentiment aggregate.

pub mod hashtags;
