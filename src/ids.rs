//! Ids are UUID strings. New ones are version 7 (time-ordered), so "ties broken
//! by id" in lists follows creation order.

/// A fresh id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The canonical form of a client-supplied id, or `None` when it is no UUID
/// (such an id names nothing: 404).
/// Only the hyphenated form counts (`uuid` would also take braces, a `urn:`
/// prefix or 32 bare digits), so the server accepts exactly [`PATTERN`].
pub fn parse(id: &str) -> Option<String> {
    let hyphenated =
        id.len() == 36 && id.bytes().enumerate().all(|(i, b)| (b == b'-') == matches!(i, 8 | 13 | 18 | 23));
    hyphenated.then(|| uuid::Uuid::parse_str(id).ok().map(|u| u.to_string())).flatten()
}

/// The pattern of an id as the API writes and accepts it: a hyphenated UUID.
pub const PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The schema of every id in the API (`#/components/schemas/Id`): fields name
/// it with `#[schema(value_type = Id)]`, and every path parameter gets it.
pub struct Id;

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .min_length(Some(36))
            .max_length(Some(36))
            .pattern(Some(PATTERN))
            .description(Some("An id: a UUID in its hyphenated form"))
            .examples(["0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d"])
            .into()
    }
}

impl utoipa::ToSchema for Id {}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_hyphenated_form_is_an_id() {
        let id = "0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d";
        assert_eq!(super::parse(id).as_deref(), Some(id));
        assert_eq!(super::parse(&id.to_uppercase()).as_deref(), Some(id));
        for other in [
            "0193a5c27f4e7b3a9c1d2e5f6a7b8c9d",
            "{0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d}",
            "urn:uuid:0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d",
            "0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9-",
            "0193a5c2-7f4e-7b3a-9c1d2-e5f6a7b8c9d",
            "",
        ] {
            assert_eq!(super::parse(other), None, "{other}");
        }
    }
}
