//! Paging and text search shared by every collection.

use diesel::sql_types::Text;

diesel::define_sql_function! {
    /// SQL `lower(text)`. PostgreSQL folds Unicode; on SQLite the pool
    /// registers a Unicode-aware implementation over the built-in (ASCII-only) one.
    fn lower(x: Text) -> Text;
}

/// A checked page request.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

/// The highest page number accepted (far beyond any real collection).
pub const MAX_PAGE: i64 = 1_000_000;

impl PageRequest {
    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// A page of rows and the total over all pages.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// The pattern for `lower(column) LIKE pattern ESCAPE '\'`: `q` lower-cased,
/// with `%`, `_` and `\` taken literally.
pub fn contains_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Sort direction and field parsed from `sort` (`-field` = descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_the_search_are_literal() {
        assert_eq!(contains_pattern(" 50%_Off\\ "), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn offsets_follow_pages() {
        assert_eq!(PageRequest { page: 3, per_page: 50 }.offset(), 100);
    }
}
