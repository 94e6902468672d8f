use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::customers;
use crate::models::catalog::{Customer, CustomerChangeset};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerSort {
    CreatedAt,
    Company,
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Customer>> {
    customers::table.find(id).select(Customer::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut AnyConnection, customer: &Customer) -> QueryResult<()> {
    diesel::insert_into(customers::table).values(customer).execute(conn).map(|_| ())
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &CustomerChangeset) -> QueryResult<Customer> {
    diesel::update(customers::table.find(id)).set(changes).execute(conn)?;
    customers::table.find(id).select(Customer::as_select()).first(conn)
}

/// `q` over company, contact name, e-mail and VAT id.
pub fn list(
    conn: &mut AnyConnection,
    q: Option<&str>,
    sort: Sort<CustomerSort>,
    page: PageRequest,
) -> QueryResult<Page<Customer>> {
    let filtered = || {
        let mut query = customers::table.into_boxed();
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(customers::company)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(customers::contact_name).like(pattern.clone()).escape('\\'))
                    .or(lower(customers::email).like(pattern.clone()).escape('\\'))
                    .or(lower(customers::vat_id).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select(Customer::as_select());
    let query = match (sort.field, sort.descending) {
        (CustomerSort::CreatedAt, false) => query.order((customers::created_at.asc(), customers::id.asc())),
        (CustomerSort::CreatedAt, true) => query.order((customers::created_at.desc(), customers::id.desc())),
        (CustomerSort::Company, false) => query.order((lower(customers::company).asc(), customers::id.asc())),
        (CustomerSort::Company, true) => query.order((lower(customers::company).desc(), customers::id.desc())),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}
