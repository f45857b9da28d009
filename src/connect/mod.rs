//! Connecting to the services: Kafka client settings and MongoDB connections,
//! shared by the Kafka source, the results store and the lab's loader and
//! producer.

pub mod kafka;
pub mod mongo;
