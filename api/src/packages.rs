//! OCDS package envelopes: every package the API serves names this register as publisher,
//! carries the licence and says which schema version it follows.

use serde_json::{Map, Value, json};

/// Open Government Licence v3.0: the licence of UK public-sector open data.
pub const LICENSE: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";

/// Who publishes the packages and where the register lives.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub name: String,
    /// Base URL without a trailing slash, e.g. `https://register.example.org`.
    pub public_url: String,
}

impl Publisher {
    pub fn new(name: impl Into<String>, public_url: &str) -> Self {
        Self {
            name: name.into(),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The package envelope for `path` (e.g. `/api/v1/records/ocds-abc123-1`), with `key`
    /// (`releases` or `records`) holding `items`.
    pub fn package(&self, path: &str, key: &str, items: Vec<Value>) -> Value {
        let mut package = Map::new();
        package.insert("uri".into(), json!(format!("{}{path}", self.public_url)));
        package.insert(
            "publishedDate".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        package.insert(
            "publisher".into(),
            json!({"name": self.name, "uri": self.public_url}),
        );
        package.insert("license".into(), json!(LICENSE));
        package.insert("version".into(), json!("1.1"));
        package.insert(key.into(), Value::Array(items));
        Value::Object(package)
    }
}
