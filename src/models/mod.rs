//! Database rows: `Row` (Queryable/Selectable), `NewRow` (Insertable) and
//! `RowChangeset` (AsChangeset). Rows are never serialized to clients.

/// An enum stored as text: `as_str` is the stored (and wire) form, diesel
/// reads it through `TryFrom<String>` (`deserialize_as = String`) and writes
/// it through `Into<String>` (`serialize_as = String`); serde writes the
/// variant in snake_case, which must be that text (a unit test holds them equal).
macro_rules! stored_text_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(stored: String) -> Result<Self, String> {
                match stored.as_str() {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("`{other}` is no {}", stringify!($name))),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
}

pub mod accounts;
pub mod api_keys;
pub mod audit_events;
pub mod catalog;
pub mod licenses;
pub mod orders;
pub mod seats;
pub mod tokens;

#[cfg(test)]
mod tests {
    use super::licenses::LicenseKind;
    use super::seats::DeviceStatus;

    fn same_text<T: serde::Serialize + Copy + TryFrom<String> + PartialEq + std::fmt::Debug>(
        all: &[T],
        text: fn(T) -> &'static str,
    ) {
        for &value in all {
            assert_eq!(serde_json::to_value(value).unwrap(), text(value), "{value:?}");
            assert!(T::try_from(text(value).to_owned()).ok() == Some(value), "{value:?}");
        }
    }

    #[test]
    fn stored_and_wire_text_agree() {
        same_text(LicenseKind::ALL, LicenseKind::as_str);
        same_text(DeviceStatus::ALL, DeviceStatus::as_str);
        same_text(super::accounts::Role::ALL, super::accounts::Role::as_str);
        assert!(LicenseKind::try_from("floating".to_owned()).is_err());
    }
}
