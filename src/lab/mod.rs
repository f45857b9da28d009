//! The Kafka/MongoDB lab: loading a data set into MongoDB, producing it to Kafka,
//! and the shared connection code.

pub mod load;
pub mod mongo;
pub mod produce;
pub mod rows;
