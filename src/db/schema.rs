// The tables of migrations/{sqlite,postgres}; kept by hand in portable types
// (Text ids, Timestamp in UTC, Bool, Integer) so one schema serves both engines.

diesel::table! {
    accounts (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        bound_customer_id -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        account_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        company -> Text,
        contact_name -> Text,
        email -> Text,
        address -> Text,
        country -> Text,
        vat_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        number -> Text,
        customer_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_managers (order_id, account_id) {
        order_id -> Text,
        account_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    licenses (id) {
        id -> Text,
        license_key -> Text,
        order_id -> Text,
        product_id -> Text,
        kind -> Text,
        seats -> Integer,
        suspended -> Bool,
        offline_allowed -> Bool,
        lease_seconds -> Integer,
        starts_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        seats_held -> Integer,
    }
}

diesel::table! {
    license_users (id) {
        id -> Text,
        license_id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_activations (id) {
        id -> Text,
        license_user_id -> Text,
        license_id -> Text,
        hardware_id -> Text,
        hostname -> Nullable<Text>,
        platform -> Nullable<Text>,
        app_version -> Nullable<Text>,
        token_hash -> Text,
        activated_at -> Timestamp,
        last_seen_at -> Timestamp,
        lease_expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        license_id -> Text,
        hardware_id -> Text,
        hostname -> Nullable<Text>,
        platform -> Nullable<Text>,
        app_version -> Nullable<Text>,
        offline -> Bool,
        status -> Text,
        token_hash -> Nullable<Text>,
        activated_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        deactivated_at -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
        seat_released_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    license_files (id) {
        id -> Text,
        device_id -> Text,
        issued_at -> Timestamp,
        valid_until -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_hash -> Text,
        key_prefix -> Text,
        scope -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> Text,
        principal -> Text,
        idem_key -> Text,
        request_hash -> Text,
        order_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    server_keys (purpose) {
        purpose -> Text,
        key_id -> Text,
        secret -> Text,
        public_key -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_email -> Nullable<Text>,
        action -> Text,
        order_id -> Nullable<Text>,
        license_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        hardware_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(orders -> customers (customer_id));
diesel::joinable!(order_managers -> orders (order_id));
diesel::joinable!(order_managers -> accounts (account_id));
diesel::joinable!(licenses -> orders (order_id));
diesel::joinable!(licenses -> products (product_id));
diesel::joinable!(license_users -> licenses (license_id));
diesel::joinable!(user_activations -> license_users (license_user_id));
diesel::joinable!(user_activations -> licenses (license_id));
diesel::joinable!(devices -> licenses (license_id));
diesel::joinable!(license_files -> devices (device_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    refresh_tokens,
    products,
    customers,
    orders,
    order_managers,
    licenses,
    license_users,
    user_activations,
    devices,
    license_files,
    api_keys,
    idempotency_keys,
    server_keys,
    audit_events,
);
