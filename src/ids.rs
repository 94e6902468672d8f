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

/// One id type per table, so a license id can't be passed where a user id is
/// meant. Each deserializes only from [`PATTERN`] (canonicalized), so as a
/// path segment (`web::Path<LicenseId>`) a malformed id is refused before the
/// handler runs — answered 404 by the path error handler, as an id that names
/// nothing. Each derefs to `&str` for the repositories.
macro_rules! id_types {
    ($($(#[$m:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The id of `text`, or `None` when it is no id.
            pub fn parse(text: &str) -> Option<Self> {
                parse(text).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(de)?;
                Self::parse(&text).ok_or_else(|| serde::de::Error::custom("is not an id"))
            }
        }
    )+};
}

id_types! {
    /// A license's id.
    LicenseId,
    /// An order's id.
    OrderId,
    /// A customer's id.
    CustomerId,
    /// A product's id.
    ProductId,
    /// A device's id.
    DeviceId,
    /// A license user's id.
    UserId,
    /// An account's id (admins and license managers).
    AccountId,
    /// An API key's id.
    ApiKeyId,
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
    fn an_id_type_takes_only_an_id() {
        let id: super::LicenseId = serde_json::from_str("\"0193A5C2-7F4E-7B3A-9C1D-2E5F6A7B8C9D\"").unwrap();
        assert_eq!(&*id, "0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d");
        assert!(serde_json::from_str::<super::LicenseId>("\"licenses\"").is_err());
        assert!(serde_json::from_str::<super::UserId>("\"0193a5c27f4e7b3a9c1d2e5f6a7b8c9d\"").is_err());
    }

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
