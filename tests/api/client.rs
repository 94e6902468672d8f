//! Tests of the client API (being written).
