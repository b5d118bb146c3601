//! OCDS package envelopes: every package the API serves names this register as publisher,
//! carries the licence and says which schema version it follows.

use actix_web::HttpRequest;
use serde_json::{Map, Value, json};

/// Open Government Licence v3.0: the licence of UK public-sector open data.
pub const LICENSE: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";

/// Who publishes the packages and where the register lives.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub name: String,
    /// Configured base URL without a trailing slash; `None`: from each request.
    public_url: Option<String>,
}

impl Publisher {
    pub fn new(name: impl Into<String>, public_url: &str) -> Self {
        let public_url = public_url.trim().trim_end_matches('/');
        Self {
            name: name.into(),
            public_url: (!public_url.is_empty()).then(|| public_url.to_owned()),
        }
    }

    /// The base URL links are built on: the configured one, else the request's own scheme
    /// and host (so a register reached as `http://127.0.0.1:8080` links to itself there).
    pub fn base_url(&self, req: &HttpRequest) -> String {
        self.public_url.clone().unwrap_or_else(|| {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        })
    }

    /// The package envelope for `path` (e.g. `/api/v1/records/ocds-abc123-1`) under `base`,
    /// with `key` (`releases` or `records`) holding `items`.
    pub fn package(&self, base: &str, path: &str, key: &str, items: Vec<Value>) -> Value {
        let mut package = Map::new();
        package.insert("uri".into(), json!(format!("{base}{path}")));
        package.insert(
            "publishedDate".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        package.insert("publisher".into(), json!({"name": self.name, "uri": base}));
        package.insert("license".into(), json!(LICENSE));
        package.insert("version".into(), json!("1.1"));
        // The extensions the register's schema knows, so a validator or a reader of the
        // package knows the commissioning, budget breakdown and metrics fields.
        package.insert(
            "extensions".into(),
            json!(register::extension::package_extensions(base)),
        );
        package.insert(key.into(), Value::Array(items));
        Value::Object(package)
    }
}
