//! Per-record transforms of the micro-batch job: hashtag extraction, and
//! which posts are kept (`--track`, `--lang`: [`select`]). (Sentiment
//! scoring is [`crate::sentiment`]; the per-day aggregate is the engine's,
//! [`crate::engine::batch`].)

pub mod hashtags;
pub mod select;
pub(crate) mod track;
