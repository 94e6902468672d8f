//! Database rows: `Row` (Queryable/Selectable), `NewRow` (Insertable) and
//! `RowChangeset` (AsChangeset). Rows are never serialized to clients.

pub mod accounts;
pub mod api_keys;
pub mod audit_events;
pub mod catalog;
pub mod licenses;
pub mod orders;
pub mod seats;
pub mod tokens;
