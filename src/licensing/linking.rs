//! Who may be linked as a license manager of an order.
//!
//! Knowing an account's password must never open another customer's orders.
//! An account created through a manager (its generated password was shown to
//! that manager, not to its owner) is *bound* to the customer of that order:
//! anyone may link it only to orders of that customer. A manager may link an
//! existing account only when it already manages an order of the same
//! customer; every other existing e-mail gets one and the same refusal, so a
//! manager learns nothing about accounts outside its customer.
//!
//! The store gathers the facts ([`AccountFacts`]); these functions decide.

/// Who asks for the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkCaller {
    Admin,
    Shop,
    Manager,
}

/// What is known about the existing account an e-mail names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountFacts {
    pub is_admin: bool,
    pub disabled: bool,
    /// The customer the account is bound to, if any.
    pub bound_customer_id: Option<String>,
    /// The account manages at least one order of the customer of the order it
    /// would be linked to.
    pub manages_order_of_customer: bool,
}

/// Why an existing account may not be linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    /// The e-mail belongs to vendor staff (said plainly to the shop and admins).
    AdminAccount,
    /// The account is bound to another customer (said to the shop and admins).
    BoundToOtherCustomer,
    /// What a manager hears for every e-mail it may not link, whatever the reason.
    Unavailable,
}

/// May `caller` link the existing account described by `existing` to an order
/// of customer `customer_id`?
pub fn may_link(caller: LinkCaller, existing: &AccountFacts, customer_id: &str) -> Result<(), LinkRefusal> {
    let bound_elsewhere = existing.bound_customer_id.as_deref().is_some_and(|bound| bound != customer_id);
    match caller {
        LinkCaller::Manager => {
            let colleague =
                !existing.is_admin && !existing.disabled && !bound_elsewhere && existing.manages_order_of_customer;
            if colleague { Ok(()) } else { Err(LinkRefusal::Unavailable) }
        }
        LinkCaller::Admin | LinkCaller::Shop => {
            if existing.is_admin {
                Err(LinkRefusal::AdminAccount)
            } else if bound_elsewhere {
                Err(LinkRefusal::BoundToOtherCustomer)
            } else {
                Ok(())
            }
        }
    }
}

/// The customer a new account is bound to when `caller` creates it for an
/// order of `customer_id`: a manager saw its password, so it stays with that
/// customer; accounts the shop or an admin create are unbound.
pub fn binding_of_new_account(caller: LinkCaller, customer_id: &str) -> Option<&str> {
    match caller {
        LinkCaller::Manager => Some(customer_id),
        LinkCaller::Admin | LinkCaller::Shop => None,
    }
}

/// Why an admin may not bind an account to a customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindRefusal {
    /// It manages orders of another customer; a binding would contradict them.
    ManagesOtherCustomersOrders,
}

/// May an account be bound to a customer? Not while it manages an order of
/// any other customer (remove it from those orders first).
pub fn may_bind(manages_order_of_other_customer: bool) -> Result<(), BindRefusal> {
    if manages_order_of_other_customer { Err(BindRefusal::ManagesOtherCustomersOrders) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = "customer-acme";
    const OTHER: &str = "customer-other";

    fn colleague() -> AccountFacts {
        AccountFacts { manages_order_of_customer: true, ..AccountFacts::default() }
    }

    fn bound_to(customer: &str) -> AccountFacts {
        AccountFacts { bound_customer_id: Some(customer.to_owned()), ..AccountFacts::default() }
    }

    #[test]
    fn a_manager_links_a_colleague_of_the_same_customer() {
        assert_eq!(may_link(LinkCaller::Manager, &colleague(), ACME), Ok(()));
        let bound_colleague = AccountFacts { manages_order_of_customer: true, ..bound_to(ACME) };
        assert_eq!(may_link(LinkCaller::Manager, &bound_colleague, ACME), Ok(()));
    }

    #[test]
    fn a_manager_hears_one_refusal_for_every_other_account() {
        let cases = [
            ("another customer's manager", AccountFacts::default()),
            ("bound to another customer", bound_to(OTHER)),
            ("bound here but managing nothing here", bound_to(ACME)),
            (
                "bound elsewhere though managing here",
                AccountFacts { manages_order_of_customer: true, ..bound_to(OTHER) },
            ),
            ("an admin", AccountFacts { is_admin: true, ..AccountFacts::default() }),
            ("a disabled colleague", AccountFacts { disabled: true, ..colleague() }),
        ];
        for (what, facts) in cases {
            assert_eq!(may_link(LinkCaller::Manager, &facts, ACME), Err(LinkRefusal::Unavailable), "{what}");
        }
    }

    #[test]
    fn the_shop_and_admins_link_unbound_accounts_of_any_customer() {
        for caller in [LinkCaller::Shop, LinkCaller::Admin] {
            assert_eq!(may_link(caller, &AccountFacts::default(), ACME), Ok(()));
            let disabled = AccountFacts { disabled: true, ..AccountFacts::default() };
            assert_eq!(may_link(caller, &disabled, ACME), Ok(()), "disabling is not a binding");
        }
    }

    #[test]
    fn a_bound_account_is_linked_only_to_its_customer_by_anyone() {
        for caller in [LinkCaller::Shop, LinkCaller::Admin] {
            assert_eq!(may_link(caller, &bound_to(ACME), ACME), Ok(()));
            assert_eq!(may_link(caller, &bound_to(OTHER), ACME), Err(LinkRefusal::BoundToOtherCustomer));
        }
    }

    #[test]
    fn the_shop_and_admins_are_told_plainly_about_admin_emails() {
        let admin = AccountFacts { is_admin: true, ..AccountFacts::default() };
        for caller in [LinkCaller::Shop, LinkCaller::Admin] {
            assert_eq!(may_link(caller, &admin, ACME), Err(LinkRefusal::AdminAccount));
        }
    }

    #[test]
    fn only_accounts_a_manager_creates_are_bound() {
        assert_eq!(binding_of_new_account(LinkCaller::Manager, ACME), Some(ACME));
        assert_eq!(binding_of_new_account(LinkCaller::Shop, ACME), None);
        assert_eq!(binding_of_new_account(LinkCaller::Admin, ACME), None);
    }

    #[test]
    fn an_account_managing_another_customers_orders_is_not_bound() {
        assert_eq!(may_bind(false), Ok(()));
        assert_eq!(may_bind(true), Err(BindRefusal::ManagesOtherCustomersOrders));
    }
}
