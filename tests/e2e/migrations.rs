use std::collections::BTreeMap;

use register::{
    Backend,
    db::{self, migration_names, table_columns},
    testing::TestDb,
};

const FIRST_TABLES: [&str; 9] = [
    "api_tokens",
    "audit_log",
    "organisations",
    "raw_payloads",
    "records",
    "releases",
    "sync_cursors",
    "sync_runs",
    "sync_sources",
];

fn columns(test_db: &TestDb) -> BTreeMap<String, Vec<String>> {
    let mut conn = test_db.url.connect().unwrap();
    table_columns(&mut conn).unwrap()
}

#[test]
fn both_backends_have_the_same_migration_names() {
    let sqlite = migration_names(Backend::Sqlite);
    let postgres = migration_names(Backend::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
}

#[test]
fn both_backends_create_the_same_tables_and_columns() {
    let sqlite = columns(&TestDb::sqlite());
    let postgres = columns(&TestDb::postgres());
    for table in FIRST_TABLES {
        assert!(sqlite.contains_key(table), "SQLite lacks table {table}");
    }
    assert_eq!(
        sqlite, postgres,
        "the SQLite and PostgreSQL migrations produce different tables or columns"
    );
}

#[test]
fn migrations_are_idempotent() {
    let test_db = TestDb::new();
    let mut conn = test_db.url.connect().unwrap();
    assert!(db::run_migrations(&mut conn).unwrap().is_empty());
}
