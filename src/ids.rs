//! Ids are UUID strings. New ones are version 7 (time-ordered), so "ties broken
//! by id" in lists follows creation order.

/// A fresh id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The canonical form of a client-supplied id, or `None` when it is no UUID
/// (such an id names nothing: 404).
pub fn parse(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id).ok().map(|u| u.to_string())
}
