//! Diesel's view of the tables; the same for both backends (see `migrations/`).

diesel::table! {
    rates (date, base, currency) {
        date -> Date,
        base -> Text,
        currency -> Text,
        rate -> Double,
        source -> Text,
        first_stored_at -> Timestamp,
        last_changed_at -> Timestamp,
    }
}

diesel::table! {
    rate_revisions (id) {
        id -> BigInt,
        date -> Date,
        base -> Text,
        currency -> Text,
        rate -> Double,
        source -> Text,
        served_from -> Timestamp,
        served_until -> Timestamp,
    }
}

diesel::table! {
    currencies (code) {
        code -> Text,
        name -> Nullable<Text>,
        held -> Bool,
    }
}

diesel::table! {
    data_version (id) {
        id -> Integer,
        version -> BigInt,
        changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    day_versions (date, base) {
        date -> Date,
        base -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        use_count -> BigInt,
    }
}

diesel::table! {
    ingest_lock (id) {
        id -> Integer,
        holder -> Nullable<Text>,
        acquired_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
    }
}

// Subqueries: the days changed since a version, filtering the rates and revisions read.
diesel::allow_tables_to_appear_in_same_query!(rates, rate_revisions, day_versions);
