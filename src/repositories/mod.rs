//! Data access: plain functions over `&mut AnyConnection` returning
//! `QueryResult`. No HTTP types here; manager scoping is part of each query.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod list;
pub mod refresh_tokens;
pub mod server_keys;
