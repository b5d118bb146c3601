//! One connection type for both backends, chosen by the database URL's scheme, an r2d2 pool,
//! and the embedded migrations (one set per backend, with the same names).

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use diesel::{
    connection::SimpleConnection,
    prelude::*,
    r2d2::{self, ManageConnection, R2D2Connection},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every query in the register goes through this type, so one binary serves both backends.
/// The PostgreSQL variant comes first: see rust-stack.md, pitfall 7.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Settings applied to every SQLite connection: WAL lets readers run beside the one writer,
/// the busy timeout makes a second writer wait instead of failing at once, and foreign keys
/// are off by default in SQLite.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgresql(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// A parsed database URL: `sqlite://PATH` (relative or, with a third slash, absolute;
/// `sqlite://:memory:` for a private in-memory database) or `postgres://...`/`postgresql://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL `{0}`: use sqlite://PATH (e.g. sqlite://data/ocreg.db) or postgres://USER@HOST:PORT/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        source: diesel::ConnectionError,
    },
    #[error("cannot prepare the SQLite connection: {0}")]
    Pragmas(diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl FromStr for DatabaseUrl {
    type Err = DbError;

    fn from_str(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::UnsupportedUrl(url.to_owned()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(DbError::UnsupportedUrl(url.to_owned()))
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL with any password hidden, for logs and error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    fn is_memory(&self) -> bool {
        matches!(self, Self::Sqlite(p) if p.as_os_str() == ":memory:")
    }

    /// Opens one connection of the right backend, with the real driver error on failure
    /// (diesel's generic multi-connection `establish` would hide it).
    pub fn connect(&self) -> Result<DbConnection, DbError> {
        match self {
            Self::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(|source| DbError::Connect {
                    url: self.to_string(),
                    source,
                }),
            Self::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                    && !self.is_memory()
                {
                    std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(|source| DbError::Connect {
                        url: self.to_string(),
                        source,
                    })?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(DbError::Pragmas)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// Builds the pool. The first connection is opened here so a bad URL or a server that is
    /// down is reported at start-up with the driver's own message.
    pub fn pool(&self, max_size: u32) -> Result<DbPool, DbError> {
        self.connect()?;
        Ok(self
            .pool_builder(max_size)
            .build_unchecked(ConnectionManager { url: self.clone() }))
    }

    /// A pool that connects only when used: for tools and tests that must start even when the
    /// database is unreachable (the health check then reports it).
    pub fn lazy_pool(&self, max_size: u32) -> DbPool {
        self.pool_builder(max_size)
            .build_unchecked(ConnectionManager { url: self.clone() })
    }

    fn pool_builder(&self, max_size: u32) -> r2d2::Builder<ConnectionManager> {
        // Every connection to `:memory:` is a new empty database, so that pool holds one.
        let max_size = if self.is_memory() { 1 } else { max_size.max(1) };
        r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
    }
}

/// Opens connections by URL scheme (see [`DatabaseUrl::connect`]).
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.ping().map_err(DbError::Query)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Runs the pending migrations of the connection's backend; returns the versions applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Answers whether the database responds to a trivial query.
pub fn ping(conn: &mut DbConnection) -> Result<(), DbError> {
    conn.ping().map_err(DbError::Query)
}

/// Tables (without migration bookkeeping and SQLite internals) and their column names, in
/// name order: what the parity test compares across backends. The full-text index tables
/// differ by nature (an FTS5 virtual table with shadow tables, a table with a tsvector index)
/// and are left out; the search tests cover them on both backends.
pub fn table_columns(
    conn: &mut DbConnection,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, DbError> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name NOT LIKE '__diesel%' AND m.name NOT LIKE 'records_fts%' \
             ORDER BY m.name, p.name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name NOT LIKE '__diesel%' AND table_name NOT LIKE 'records_fts%' \
             ORDER BY table_name, column_name"
        }
    };
    let rows: Vec<Column> = diesel::sql_query(sql).load(conn)?;
    let mut tables = std::collections::BTreeMap::<String, Vec<String>>::new();
    for row in rows {
        tables
            .entry(row.table_name)
            .or_default()
            .push(row.column_name);
    }
    Ok(tables)
}

/// Migration versions embedded for one backend, in order.
pub fn migration_names(backend: Backend) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let source = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::sqlite::Sqlite>>> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source).unwrap_or_default();
    migrations.iter().map(|m| m.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            "sqlite://data/ocreg.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("data/ocreg.db".into())
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            "postgres://u@h/db"
                .parse::<DatabaseUrl>()
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        let err = "mysql://x".parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(
            err.contains("mysql://x") && err.contains("sqlite://"),
            "{err}"
        );
    }

    #[test]
    fn hides_passwords() {
        let url: DatabaseUrl = "postgres://u:secret@h:5432/db".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://u:***@h:5432/db");
    }
}
