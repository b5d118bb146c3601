//! Hand-written diesel schema, portable across both backends (rust-stack.md, pitfall 5):
//! `diesel print-schema` would give a different file for each. Keep it in step with both
//! migration folders; the parity test compares what the migrations create.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        org_id -> Text,
        name -> Text,
        name_variants -> Text,
        roles -> Text,
        partnership_member -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    releases (id) {
        id -> BigInt,
        ocid -> Text,
        release_id -> Text,
        release_date -> Nullable<Text>,
        publisher_org_id -> Nullable<Text>,
        source -> Text,
        received_at -> Timestamp,
        content_hash -> Text,
        body -> Text,
    }
}

diesel::table! {
    records (id) {
        id -> BigInt,
        ocid -> Text,
        compiled_release -> Text,
        versioned_release -> Nullable<Text>,
        release_count -> Integer,
        title -> Nullable<Text>,
        description -> Nullable<Text>,
        stage -> Nullable<Text>,
        status -> Nullable<Text>,
        buyer_org_id -> Nullable<Text>,
        party_org_ids -> Text,
        supplier_org_ids -> Text,
        value_amount -> Nullable<Double>,
        value_currency -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
        tender_deadline -> Nullable<Timestamp>,
        contract_start -> Nullable<Timestamp>,
        contract_end -> Nullable<Timestamp>,
        cpv_codes -> Text,
        service_category -> Nullable<Text>,
        delivery_area -> Nullable<Text>,
        vcse_suitable -> Nullable<Bool>,
        sme_suitable -> Nullable<Bool>,
        updated_at -> Timestamp,
        partner_org_ids -> Text,
        commissioning_level -> Nullable<Text>,
        outcome_areas -> Text,
        latest_rating -> Nullable<Text>,
        commissioning -> Nullable<Text>,
        outcomes -> Nullable<Text>,
        match_key -> Nullable<Text>,
        same_as -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        token_prefix -> Text,
        token_hash -> Text,
        org_ids -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject_ids -> Text,
        request_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    sync_sources (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        config -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> BigInt,
        source_id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        status -> Text,
        summary -> Text,
        error -> Nullable<Text>,
        holder -> Nullable<Text>,
    }
}

diesel::table! {
    sync_quarantine (id) {
        id -> BigInt,
        source_id -> BigInt,
        run_id -> Nullable<BigInt>,
        payload_id -> Nullable<BigInt>,
        position -> Integer,
        ocid -> Nullable<Text>,
        release_id -> Nullable<Text>,
        reason -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sync_cursors (id) {
        id -> BigInt,
        source_id -> BigInt,
        cursor -> Nullable<Text>,
        high_water_mark -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    raw_payloads (id) {
        id -> BigInt,
        source_id -> BigInt,
        run_id -> Nullable<BigInt>,
        fetched_at -> Timestamp,
        url -> Text,
        status_code -> Integer,
        content_type -> Nullable<Text>,
        content_hash -> Text,
        body -> Binary,
    }
}

diesel::table! {
    spend_transactions (id) {
        id -> BigInt,
        publisher_org_id -> Text,
        row_key -> Binary,
        source_file -> Text,
        line -> BigInt,
        run_id -> Nullable<BigInt>,
        payment_date -> Date,
        amount_pence -> BigInt,
        supplier_name -> Nullable<Text>,
        supplier_redacted -> Bool,
        supplier_id -> Nullable<Text>,
        vat_number -> Nullable<Text>,
        transaction_number -> Nullable<Text>,
        body_name -> Nullable<Text>,
        expense_area -> Nullable<Text>,
        expense_type -> Nullable<Text>,
        expense_code -> Nullable<Text>,
        description -> Nullable<Text>,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    spend_links (spend_id) {
        spend_id -> BigInt,
        ocid -> Text,
        contract_id -> Text,
        method -> Text,
        confidence -> Double,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    grants (id) {
        id -> BigInt,
        grant_id -> Text,
        title -> Text,
        description -> Text,
        currency -> Text,
        amount_awarded_pence -> BigInt,
        award_date -> Date,
        funder_org_id -> Text,
        funder_name -> Text,
        recipient_org_id -> Text,
        recipient_name -> Nullable<Text>,
        recipient_is_individual -> Bool,
        planned_start -> Nullable<Date>,
        planned_end -> Nullable<Date>,
        programme -> Nullable<Text>,
        source_file -> Text,
        position -> Text,
        run_id -> Nullable<BigInt>,
        content_hash -> Text,
        body -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    org_equivalents (org_id) {
        org_id -> Text,
        canonical_id -> Text,
        method -> Text,
        source -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    grant_links (grant_row_id) {
        grant_row_id -> BigInt,
        ocid -> Text,
        contract_id -> Text,
        method -> Text,
        confidence -> Double,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    relink_queue (publisher_org_id) {
        publisher_org_id -> Text,
        queued_at -> Timestamp,
    }
}

diesel::table! {
    /// The full-text index: an FTS5 virtual table on SQLite, a table with a GIN tsvector
    /// index on PostgreSQL; `rowid` is the record's id.
    records_fts (rowid) {
        rowid -> BigInt,
        body -> Text,
    }
}

diesel::joinable!(sync_runs -> sync_sources (source_id));
diesel::joinable!(sync_cursors -> sync_sources (source_id));
diesel::joinable!(raw_payloads -> sync_sources (source_id));
diesel::joinable!(raw_payloads -> sync_runs (run_id));
diesel::joinable!(sync_quarantine -> sync_sources (source_id));
diesel::joinable!(spend_links -> spend_transactions (spend_id));
diesel::joinable!(grant_links -> grants (grant_row_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    releases,
    records,
    api_tokens,
    audit_log,
    sync_sources,
    sync_runs,
    sync_cursors,
    raw_payloads,
    sync_quarantine,
    spend_transactions,
    spend_links,
    grants,
    org_equivalents,
    grant_links,
    relink_queue,
    records_fts,
);
