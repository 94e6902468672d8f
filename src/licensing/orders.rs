//! How much an order holds: the bounds that keep every order, and every view
//! of one, a known size.

/// An order holds 1 to this many licenses (at creation and after).
pub const MAX_LICENSES: usize = 100;

/// An order names 1 to this many license managers (at creation and after).
pub const MAX_MANAGERS: usize = 50;

/// A manager account's view lists at most this many of its orders.
pub const MAX_ORDER_REFS: usize = 100;

/// May an order that holds `held` licenses take one more?
pub fn may_add_license(held: i64) -> bool {
    held < MAX_LICENSES as i64
}

/// May an order that names `held` managers take one more?
pub fn may_add_manager(held: i64) -> bool {
    held < MAX_MANAGERS as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_full_at_its_bounds() {
        assert!(may_add_license(0) && may_add_license(MAX_LICENSES as i64 - 1));
        assert!(!may_add_license(MAX_LICENSES as i64));
        assert!(may_add_manager(MAX_MANAGERS as i64 - 1));
        assert!(!may_add_manager(MAX_MANAGERS as i64));
    }
}
