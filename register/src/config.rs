//! Settings: an optional `ocreg.toml` overridden by `OCREG_*` environment variables.
//!
//! Unknown keys are errors that name the key and where it came from, because a misspelt
//! setting that is silently ignored is worse than one that stops the program.
//! Environment variables map to keys by dropping the prefix and lower-casing
//! (`OCREG_DATABASE_URL` → `database_url`); `__` separates nested tables
//! (`OCREG_SOURCES__FTS__SCHEDULE` → `[sources.fts] schedule`).

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use serde::Deserialize;

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "ocreg.toml";
/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "OCREG_";
/// Variables with the prefix that are not settings (read by the command line instead).
const ENV_NOT_SETTINGS: &[&str] = &["OCREG_CONFIG"];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `sqlite://PATH` (the folder is created) or `postgres://USER@HOST:PORT/DB`.
    pub database_url: String,
    /// Connections kept in the pool.
    pub database_pool_size: u32,
    /// Address `ocreg serve` listens on.
    pub bind: String,
    /// `pretty` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// Default log filter (a `tracing` env-filter); `RUST_LOG` overrides it.
    pub log_level: String,
    /// The address people and programs reach this register at (e.g.
    /// `https://register.example.org`); package `uri`s and links are built from it. Empty:
    /// taken from each request's scheme and Host header.
    pub public_url: String,
    /// The publisher named in every OCDS package this register serves.
    pub publisher_name: String,
    /// Largest request body accepted, in bytes (publishing): larger requests get 413.
    pub max_body_bytes: usize,
    /// Requests per second each client (peer IP address) may sustain on the API; 0 turns rate
    /// limiting off. `/health` is never limited.
    pub rate_limit_per_second: u32,
    /// Requests a client may send at once above the sustained rate (the token bucket's size);
    /// 0 turns rate limiting off.
    pub rate_limit_burst: u32,
    /// How often the sync daemon relinks payments to contracts that changed, in seconds
    /// (`register::relink_queue`).
    pub relink_interval_seconds: u64,
    /// Feeds the sync daemon keeps the register current from, by name (`[sources.<name>]`).
    pub sources: BTreeMap<String, SourceSettings>,
}

/// One feed to sync (`[sources.<name>]`). Unset timings take the kind's defaults
/// ([`SourceKind`]), chosen from what each service tolerates.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    pub kind: SourceKind,
    /// The service's address; empty: the real service of this kind.
    #[serde(default)]
    pub base_url: String,
    /// When to run: a cron string with seconds first (`0 */15 * * * *` = every 15 minutes);
    /// empty: only `ocreg sync run` runs it.
    #[serde(default)]
    pub schedule: String,
    /// Earliest date to backfill from (`2026-01-01` or an RFC 3339 time), used until the first
    /// window is complete; empty: 30 days before the first run.
    #[serde(default)]
    pub start: String,
    /// Only notices of these buyers (org ids such as `GB-PPON-...`, `GB-LAE-...`); empty: any.
    #[serde(default)]
    pub buyers: Vec<String>,
    /// Only notices with a CPV code starting with one of these (`8531`, `80`); empty: any.
    #[serde(default)]
    pub cpv: Vec<String>,
    /// Only notices whose titles or descriptions contain one of these words or phrases
    /// (case-insensitive, whole words); empty: any.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Length of one query window in hours (Find a Tender: 6, Contracts Finder: 24).
    #[serde(default)]
    pub window_hours: Option<f64>,
    /// How far each run goes back before the last complete window, in minutes (default 60):
    /// releases indexed late by the service are fetched on the next run.
    #[serde(default)]
    pub overlap_minutes: Option<f64>,
    /// Least time between two requests, in seconds (Find a Tender: 10, for its 12 requests per
    /// 2 minutes; Contracts Finder: 2).
    #[serde(default)]
    pub request_interval_seconds: Option<f64>,
    /// Releases per page requested (1-100, default 100).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Time allowed for one request, in seconds (default 60).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Attempts per request before a run stops with an error (default 6).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// First back-off after a failed request, in seconds, doubled per attempt (default 2).
    #[serde(default)]
    pub backoff_seconds: Option<f64>,
    /// Wait after a rate-limit answer that gives no `Retry-After`, in seconds (default 300, as
    /// Contracts Finder asks).
    #[serde(default)]
    pub rate_limited_wait_seconds: Option<f64>,
    /// `spend_csv`: the org-id of the council whose spend the files are (`GB-LAE-DEV`).
    #[serde(default)]
    pub publisher: String,
    /// `spend_csv`, `threesixtygiving`: the files to import, each fetched on every run and
    /// imported when its content changed.
    #[serde(default)]
    pub urls: Vec<String>,
    /// `spend_csv`: one file per month, the URL with month placeholders (`{yyyy}`, `{yy}`,
    /// `{mm}`, `{m}`, `{mon}`, `{Mon}`, `{MON}`, `{month}`, `{Month}`, `{MONTH}`), expanded for
    /// every month from `start` to the current one.
    #[serde(default)]
    pub url_pattern: String,
}

impl SourceSettings {
    /// The options set that mean nothing for this source's kind, and the required ones that are
    /// missing, as one message; `Ok` when there are none. Values themselves (a schedule, a
    /// pattern, an org-id) are checked where they are read.
    pub fn check_options(&self) -> Result<(), String> {
        // The schedule and the HTTP client's timings apply to every kind.
        let set: [(&str, bool); 11] = [
            ("base_url", !self.base_url.is_empty()),
            ("start", !self.start.is_empty()),
            ("buyers", !self.buyers.is_empty()),
            ("cpv", !self.cpv.is_empty()),
            ("keywords", !self.keywords.is_empty()),
            ("window_hours", self.window_hours.is_some()),
            ("overlap_minutes", self.overlap_minutes.is_some()),
            ("page_size", self.page_size.is_some()),
            ("publisher", !self.publisher.is_empty()),
            ("urls", !self.urls.is_empty()),
            ("url_pattern", !self.url_pattern.is_empty()),
        ];
        let allowed: &[&str] = match self.kind {
            SourceKind::FindATender | SourceKind::ContractsFinder => &[
                "base_url",
                "start",
                "buyers",
                "cpv",
                "keywords",
                "window_hours",
                "overlap_minutes",
                "page_size",
            ],
            // `start` is the first month of a pattern.
            SourceKind::SpendCsv if !self.url_pattern.is_empty() => {
                &["publisher", "url_pattern", "start"]
            }
            SourceKind::SpendCsv => &["publisher", "urls", "url_pattern"],
            SourceKind::ThreeSixtyGiving => &["urls"],
        };
        let misplaced: Vec<&str> = set
            .iter()
            .filter(|(name, is_set)| *is_set && !allowed.contains(name))
            .map(|(name, _)| *name)
            .collect();
        let kind = self.kind.code();
        if !misplaced.is_empty() {
            let (noun, verb) = if misplaced.len() == 1 {
                ("option", "is")
            } else {
                ("options", "are")
            };
            return Err(format!(
                "{noun} {} {verb} not used by kind `{kind}` (its options: {})",
                misplaced.join(", "),
                allowed.join(", ")
            ));
        }
        let missing = match self.kind {
            SourceKind::SpendCsv if self.publisher.trim().is_empty() => {
                Some("publisher (the council's org-id, e.g. GB-LAE-DEV)")
            }
            SourceKind::SpendCsv if self.urls.is_empty() && self.url_pattern.is_empty() => {
                Some("urls or url_pattern")
            }
            SourceKind::SpendCsv if !self.url_pattern.is_empty() && self.start.is_empty() => {
                Some("start (the first month of url_pattern, e.g. 2024-04)")
            }
            SourceKind::ThreeSixtyGiving if self.urls.is_empty() => Some("urls"),
            _ => None,
        };
        match missing {
            Some(what) => Err(format!("kind `{kind}` needs {what}")),
            None => Ok(()),
        }
    }
}

/// The kinds of feed the sync daemon reads.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Find a Tender (`/api/1.0/ocdsReleasePackages`, OCDS release packages).
    FindATender,
    /// Contracts Finder (`/Published/Notices/OCDS/Search`, OCDS release packages).
    ContractsFinder,
    /// A council's spend over £500 (Local Government Transparency Code CSV files), from a list
    /// of URLs or one URL pattern per month.
    SpendCsv,
    /// 360Giving grants files (JSON package or CSV), from a list of URLs.
    #[serde(rename = "threesixtygiving")]
    ThreeSixtyGiving,
}

impl SourceKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::FindATender => "find_a_tender",
            Self::ContractsFinder => "contracts_finder",
            Self::SpendCsv => "spend_csv",
            Self::ThreeSixtyGiving => "threesixtygiving",
        }
    }

    /// Files of rows fetched whole (spend, grants), rather than a feed walked in windows.
    pub fn is_files(self) -> bool {
        matches!(self, Self::SpendCsv | Self::ThreeSixtyGiving)
    }

    /// The real service; empty for kinds whose files are named by full URLs.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::FindATender => "https://www.find-tender.service.gov.uk",
            Self::ContractsFinder => "https://www.contractsfinder.service.gov.uk",
            Self::SpendCsv | Self::ThreeSixtyGiving => "",
        }
    }

    pub fn default_window_hours(self) -> f64 {
        match self {
            // Long windows are known to miss releases (uk-feeds.md 1.3); kingfisher uses 6 h.
            Self::FindATender => 6.0,
            // Not walked in windows.
            Self::ContractsFinder | Self::SpendCsv | Self::ThreeSixtyGiving => 24.0,
        }
    }

    pub fn default_request_interval_seconds(self) -> f64 {
        match self {
            Self::FindATender => 10.0,
            Self::ContractsFinder => 2.0,
            // Council and funder websites publish no limits; a second apart is polite.
            Self::SpendCsv | Self::ThreeSixtyGiving => 1.0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/ocreg.db".to_owned(),
            database_pool_size: 8,
            bind: "127.0.0.1:8080".to_owned(),
            log_format: LogFormat::Pretty,
            log_level: "info".to_owned(),
            public_url: String::new(),
            publisher_name: "ocreg open commissioning register".to_owned(),
            max_body_bytes: 10 * 1024 * 1024,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            relink_interval_seconds: 60,
            sources: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    File {
        path: PathBuf,
        message: String,
    },
    Env {
        variable: String,
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => {
                write!(
                    f,
                    "cannot read configuration file {}: {source}",
                    path.display()
                )
            }
            Self::File { path, message } => {
                write!(
                    f,
                    "invalid configuration file {}: {message}",
                    path.display()
                )
            }
            Self::Env { variable, message } => {
                write!(f, "invalid environment variable {variable}: {message}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Loads settings from `file` (which must exist when given) or from `ocreg.toml` if present,
    /// then applies `env` (normally `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let path = match file {
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut table = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                // Deserialising the text on its own first gives errors with line and column.
                toml::from_str::<Settings>(&text).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        for (variable, raw) in env {
            let Some(rest) = variable.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if ENV_NOT_SETTINGS.contains(&variable.as_str()) || rest.is_empty() {
                continue;
            }
            let keys: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            let value = env_value(&raw);
            let env_error = |message: String| ConfigError::Env {
                variable: variable.clone(),
                message,
            };
            // Checked on its own so that an error names the variable that caused it; "missing
            // field" only means the variable sets part of a table the file completes.
            let mut alone = toml::Table::new();
            insert_path(&mut alone, &keys, value.clone()).map_err(env_error)?;
            if let Err(e) = Settings::deserialize(toml::Value::Table(alone)) {
                let message = e.to_string().trim().to_owned();
                if !message.contains("missing field") {
                    return Err(env_error(message));
                }
            }
            insert_path(&mut table, &keys, value).map_err(env_error)?;
        }
        Settings::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Env {
            variable: format!("{ENV_PREFIX}* with {}", path_label(path.as_deref())),
            message: e.to_string().trim().to_owned(),
        })
    }
}

fn path_label(path: Option<&Path>) -> String {
    path.map_or_else(|| "no file".to_owned(), |p| p.display().to_string())
}

/// Environment values are TOML literals when they parse as one (`8`, `true`), else strings, so
/// `OCREG_DATABASE_POOL_SIZE=4` and `OCREG_BIND=0.0.0.0:80` both do what they say.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn insert_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("empty setting name")?;
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a table"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let dir = std::env::temp_dir();
        let missing = dir.join("ocreg-settings-test-that-does-not-exist.toml");
        assert!(Settings::load(Some(&missing), env(&[])).is_err());
        assert_eq!(
            Settings::deserialize(toml::Value::Table(toml::Table::new())).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn env_overrides_file_and_is_typed() {
        let file = tempfile_with("database_url = \"sqlite://x.db\"\nbind = \"127.0.0.1:1\"\n");
        let s = Settings::load(
            Some(file.path()),
            env(&[
                ("OCREG_BIND", "0.0.0.0:9000"),
                ("OCREG_DATABASE_POOL_SIZE", "3"),
                ("OCREG_CONFIG", "ignored.toml"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database_url, "sqlite://x.db");
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.database_pool_size, 3);
    }

    #[test]
    fn rate_limit_defaults_and_env_override() {
        let defaults = Settings::default();
        assert_eq!(
            (defaults.rate_limit_per_second, defaults.rate_limit_burst),
            (50, 100)
        );
        let s = Settings::load(
            None,
            env(&[
                ("OCREG_RATE_LIMIT_PER_SECOND", "0"),
                ("OCREG_RATE_LIMIT_BURST", "5000"),
            ]),
        )
        .unwrap();
        assert_eq!((s.rate_limit_per_second, s.rate_limit_burst), (0, 5000));
    }

    #[test]
    fn unknown_file_key_names_key_and_line() {
        let file = tempfile_with("bind = \"127.0.0.1:1\"\ncolour = \"blue\"\n");
        let err = Settings::load(Some(file.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_env_key_names_variable() {
        let err = Settings::load(None, env(&[("OCREG_COLOUR", "blue")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("OCREG_COLOUR"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn wrong_type_from_env_is_an_error() {
        let err = Settings::load(None, env(&[("OCREG_DATABASE_POOL_SIZE", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("OCREG_DATABASE_POOL_SIZE"), "{err}");
    }

    #[test]
    fn sources_come_from_the_file_and_env_completes_them() {
        let file = tempfile_with(
            "[sources.fts]\nkind = \"find_a_tender\"\ncpv = [\"8531\"]\n\n[sources.cf]\nkind = \"contracts_finder\"\nschedule = \"0 0 * * * *\"\n",
        );
        let s = Settings::load(
            Some(file.path()),
            env(&[("OCREG_SOURCES__FTS__SCHEDULE", "0 */15 * * * *")]),
        )
        .unwrap();
        let fts = &s.sources["fts"];
        assert_eq!(fts.kind, SourceKind::FindATender);
        assert_eq!(fts.schedule, "0 */15 * * * *");
        assert_eq!(fts.cpv, ["8531"]);
        assert_eq!(s.sources["cf"].kind, SourceKind::ContractsFinder);
    }

    #[test]
    fn a_source_needs_a_known_kind_and_known_keys() {
        let file = tempfile_with("[sources.x]\nkind = \"ted\"\n");
        let err = Settings::load(Some(file.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ted") && err.contains("find_a_tender"),
            "{err}"
        );
        let file = tempfile_with("[sources.x]\nkind = \"find_a_tender\"\nshedule = \"\"\n");
        let err = Settings::load(Some(file.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shedule"), "{err}");
    }

    fn source(text: &str) -> SourceSettings {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn files_kinds_read_and_their_options_are_checked() {
        let spend = source(
            "kind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurl_pattern = \"https://x/{yyyy}-{mm}.csv\"\nstart = \"2024-04\"\n",
        );
        assert_eq!(spend.kind, SourceKind::SpendCsv);
        assert_eq!(spend.check_options(), Ok(()));
        let grants = source("kind = \"threesixtygiving\"\nurls = [\"https://x/g.json\"]\n");
        assert_eq!(grants.kind, SourceKind::ThreeSixtyGiving);
        assert_eq!(grants.kind.code(), "threesixtygiving");
        assert_eq!(grants.check_options(), Ok(()));

        let e = source("kind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurls = [\"https://x/a.csv\"]\ncpv = [\"85\"]\n")
            .check_options()
            .unwrap_err();
        assert!(
            e.starts_with("option cpv is not used by kind `spend_csv`"),
            "{e}"
        );
        let e = source("kind = \"find_a_tender\"\nurl_pattern = \"https://x/{mm}\"\npublisher = \"GB-LAE-DEV\"\n")
            .check_options()
            .unwrap_err();
        assert!(
            e.starts_with("options publisher, url_pattern are not used by kind `find_a_tender`"),
            "{e}"
        );
        let e = source("kind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurls = [\"https://x/a.csv\"]\nstart = \"2024-01\"\n")
            .check_options()
            .unwrap_err();
        assert!(e.contains("option start is not used"), "{e}");
        let e = source("kind = \"threesixtygiving\"\nurls = [\"https://x/g.json\"]\npublisher = \"GB-LAE-TRF\"\n")
            .check_options()
            .unwrap_err();
        assert!(
            e.contains("option publisher is not used by kind `threesixtygiving`"),
            "{e}"
        );

        let missing = |text: &str| source(text).check_options().unwrap_err();
        assert!(
            missing("kind = \"spend_csv\"\nurls = [\"https://x/a.csv\"]\n")
                .contains("needs publisher")
        );
        assert!(
            missing("kind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\n")
                .contains("needs urls or url_pattern")
        );
        assert!(missing("kind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurl_pattern = \"https://x/{mm}\"\n").contains("needs start"));
        assert!(missing("kind = \"threesixtygiving\"\n").contains("needs urls"));
        // OCDS sources are as before.
        assert_eq!(
            source("kind = \"contracts_finder\"\ncpv = [\"85\"]\n").check_options(),
            Ok(())
        );
    }

    fn tempfile_with(text: &str) -> TempToml {
        let path = std::env::temp_dir().join(format!(
            "ocreg-settings-{}-{}.toml",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        TempToml(path)
    }

    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    struct TempToml(PathBuf);
    impl TempToml {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
