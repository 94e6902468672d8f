//! What each side may learn about the other from the audit trail.

/// A manager sees the address of actors of its own side (managers, the
/// software on its computers) but not the vendor's: the addresses of its
/// staff and systems (admins, the shop, the server) are the vendor's.
pub fn manager_sees_ip_of(actor_kind: &str) -> bool {
    matches!(actor_kind, "manager" | "software")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_see_only_their_own_sides_addresses() {
        assert!(manager_sees_ip_of("manager"));
        assert!(manager_sees_ip_of("software"));
        for vendor in ["admin", "shop", "system", ""] {
            assert!(!manager_sees_ip_of(vendor), "{vendor}");
        }
    }
}
