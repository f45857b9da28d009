//! The Kafka/MongoDB lab: loading a data set into MongoDB and producing it to
//! Kafka (the connections are in [`crate::connect`]).

pub mod load;
pub mod produce;
