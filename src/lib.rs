//! tweetstream: streaming tweet analytics (hashtag counts and VADER sentiment in
//! micro-batches), a small, fast replacement for two classic Spark labs.

pub mod cli;
pub mod codec;
pub mod logging;
pub mod sentiment;
