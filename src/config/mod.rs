//! The router configuration: the schema and its validation.

mod schema;

pub use schema::*;
