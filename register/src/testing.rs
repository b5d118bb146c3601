//! Throwaway databases for tests, one per test, on the backend `TEST_DATABASE_URL` names.
//!
//! Without it (or with a `sqlite://` value) a test gets a fresh SQLite file in a temporary
//! folder. With `postgres://...` it gets its own schema in that database, reached through
//! `search_path`, so tests run in parallel without seeing each other; the schema is dropped
//! when the [`TestDb`] is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::SimpleConnection;

use crate::db::{self, DatabaseUrl, DbPool};

/// Environment variable choosing the test backend.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";
/// PostgreSQL server for the tests that need one whichever backend is under test (parity).
pub const TEST_POSTGRES_URL: &str = "TEST_POSTGRES_URL";

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct TestDb {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl TestDb {
    /// A fresh, migrated database on the backend under test.
    pub fn new() -> Self {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if url.starts_with("postgres") => Self::postgres_at(&url),
            _ => Self::sqlite(),
        }
    }

    /// A fresh, migrated SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let url = DatabaseUrl::Sqlite(dir.path().join("test.db"));
        let test_db = Self {
            url,
            cleanup: Cleanup::Dir(dir),
        };
        test_db.migrate();
        test_db
    }

    /// A fresh, migrated PostgreSQL schema on the server of `TEST_POSTGRES_URL` (or
    /// `TEST_DATABASE_URL` when that is PostgreSQL). Panics with set-up advice when neither is.
    pub fn postgres() -> Self {
        let url = std::env::var(TEST_POSTGRES_URL)
            .ok()
            .or_else(|| {
                std::env::var(TEST_DATABASE_URL)
                    .ok()
                    .filter(|u| u.starts_with("postgres"))
            })
            .unwrap_or_else(|| {
                panic!(
                    "this test needs PostgreSQL: set {TEST_POSTGRES_URL}=postgres://... \
                     (scripts/test starts a throwaway server and sets it)"
                )
            });
        Self::postgres_at(&url)
    }

    fn postgres_at(admin_url: &str) -> Self {
        let schema = format!(
            "test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin: DatabaseUrl = admin_url.parse().expect("a postgres:// URL");
        let mut conn = admin
            .connect()
            .expect("connect to the test PostgreSQL server");
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create the test schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = DatabaseUrl::Postgres(format!(
            "{admin_url}{separator}options=-csearch_path%3D{schema}"
        ));
        let test_db = Self {
            url,
            cleanup: Cleanup::Schema {
                admin_url: admin_url.to_owned(),
                schema,
            },
        };
        test_db.migrate();
        test_db
    }

    fn migrate(&self) {
        let mut conn = self.url.connect().expect("connect to the test database");
        db::run_migrations(&mut conn).expect("migrations run on a fresh database");
    }

    /// A small pool on this database.
    pub fn pool(&self) -> DbPool {
        self.url.pool(4).expect("open the test database pool")
    }

    /// The URL as a string, for passing to the binary.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup
            && let Ok(admin) = admin_url.parse::<DatabaseUrl>()
            && let Ok(mut conn) = admin.connect()
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}
