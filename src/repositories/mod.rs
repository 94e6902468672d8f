//! Data access: plain functions over `&mut AnyConnection` returning
//! `QueryResult`. No HTTP types here; manager scoping is part of each query.

pub mod accounts;
pub mod activations;
pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod dashboard;
pub mod devices;
pub mod events;
pub mod license_files;
pub mod license_users;
pub mod licenses;
pub mod list;
pub mod orders;
pub mod products;
pub mod refresh_tokens;
pub mod scope;
pub mod server_keys;
