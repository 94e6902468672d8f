use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::products;
use crate::models::catalog::{Product, ProductChangeset};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductSort {
    CreatedAt,
    Code,
    Name,
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Product>> {
    products::table.find(id).select(Product::as_select()).first(conn).optional()
}

pub fn find_by_code(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Product>> {
    products::table.filter(products::code.eq(code)).select(Product::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut AnyConnection, product: &Product) -> QueryResult<()> {
    diesel::insert_into(products::table).values(product).execute(conn).map(|_| ())
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &ProductChangeset) -> QueryResult<Product> {
    diesel::update(products::table.find(id)).set(changes).execute(conn)?;
    products::table.find(id).select(Product::as_select()).first(conn)
}

/// `q` over code and name.
pub fn list(
    conn: &mut AnyConnection,
    q: Option<&str>,
    sort: Sort<ProductSort>,
    page: PageRequest,
) -> QueryResult<Page<Product>> {
    let filtered = || {
        let mut query = products::table.into_boxed();
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(products::code)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(products::name).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select(Product::as_select());
    let query = match (sort.field, sort.descending) {
        (ProductSort::CreatedAt, false) => query.order((products::created_at.asc(), products::id.asc())),
        (ProductSort::CreatedAt, true) => query.order((products::created_at.desc(), products::id.desc())),
        (ProductSort::Code, false) => query.order((lower(products::code).asc(), products::id.asc())),
        (ProductSort::Code, true) => query.order((lower(products::code).desc(), products::id.desc())),
        (ProductSort::Name, false) => query.order((lower(products::name).asc(), products::id.asc())),
        (ProductSort::Name, true) => query.order((lower(products::name).desc(), products::id.desc())),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}
