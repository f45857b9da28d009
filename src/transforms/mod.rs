//! Per-record transforms of the micro-batch job: hashtag extraction and the
//! `--track` filter. (Sentiment
//! scoring is [`crate::sentiment`]; the per-day aggregate is the engine's,
//! [`crate::engine::batch`].)

pub mod hashtags;
pub mod track;
