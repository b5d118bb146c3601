//! Example documents for the OpenAPI description of responses whose body is an OCDS package
//! (documented as `Object`: the OCDS schema itself describes them). Shortened from the demo
//! register; `/docs` shows them next to each operation.

use serde_json::{Value, json};

const PUBLISHER: &str = "ocreg";
const LICENSE: &str = crate::packages::LICENSE;

fn compiled() -> Value {
    json!({
        "ocid": "ocds-ocdemo-wyv-0002",
        "id": "ocds-ocdemo-wyv-0002-tender-1",
        "date": "2026-11-16T09:00:00Z",
        "tag": ["compiled"],
        "initiationType": "tender",
        "buyer": {"id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board"},
        "parties": [{"id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board", "roles": ["buyer"]}],
        "tender": {
            "id": "ocds-ocdemo-wyv-0002",
            "title": "Neurodiversity support for children, young people and families",
            "status": "active",
            "value": {"amount": 2400000, "currency": "GBP"},
            "tenderPeriod": {"endDate": "2027-01-29T12:00:00Z"}
        }
    })
}

fn package_head(uri: &str) -> serde_json::Map<String, Value> {
    let mut head = serde_json::Map::new();
    head.insert("uri".into(), json!(uri));
    head.insert("publishedDate".into(), json!("2026-11-24T09:00:00Z"));
    head.insert(
        "publisher".into(),
        json!({"name": PUBLISHER, "uri": "http://127.0.0.1:8080"}),
    );
    head.insert("license".into(), json!(LICENSE));
    head.insert("version".into(), json!("1.1"));
    head.insert(
        "extensions".into(),
        json!(register::extension::package_extensions(
            "http://127.0.0.1:8080"
        )),
    );
    head
}

/// `GET /api/v1/records/{ocid}`.
pub fn record_package() -> Value {
    let mut package = package_head("http://127.0.0.1:8080/api/v1/records/ocds-ocdemo-wyv-0002");
    package.insert(
        "records".into(),
        json!([{
            "ocid": "ocds-ocdemo-wyv-0002",
            "releases": [{
                "ocid": "ocds-ocdemo-wyv-0002",
                "id": "ocds-ocdemo-wyv-0002-tender-1",
                "date": "2026-11-16T09:00:00Z",
                "tag": ["tender"],
                "initiationType": "tender",
                "buyer": {"id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board"},
                "tender": {"id": "ocds-ocdemo-wyv-0002", "status": "active"}
            }],
            "compiledRelease": compiled()
        }]),
    );
    Value::Object(package)
}

/// `GET /api/v1/records`: compiled records with linked releases.
pub fn record_list() -> Value {
    let mut package = package_head("http://127.0.0.1:8080/api/v1/records?buyer=GB-NHS-QZW");
    package.insert(
        "records".into(),
        json!([{
            "ocid": "ocds-ocdemo-wyv-0002",
            "releases": [{
                "url": "http://127.0.0.1:8080/api/v1/records/ocds-ocdemo-wyv-0002",
                "date": "2026-11-16T09:00:00Z",
                "tag": ["tender"]
            }],
            "compiledRelease": compiled()
        }]),
    );
    package.insert("links".into(), json!({"next": null}));
    Value::Object(package)
}

/// `GET /api/v1/releases`: the change feed.
pub fn release_list() -> Value {
    let mut package =
        package_head("http://127.0.0.1:8080/api/v1/releases?updated_since=2026-11-01");
    let mut release = compiled();
    release["tag"] = json!(["tender"]);
    package.insert("releases".into(), json!([release]));
    package.insert(
        "links".into(),
        json!({"next": "http://127.0.0.1:8080/api/v1/releases?updated_since=2026-11-01&cursor=812"}),
    );
    Value::Object(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_examples_are_valid_ocds() {
        for (name, example) in [
            ("record", record_package()),
            ("record list", record_list()),
            ("release list", release_list()),
        ] {
            let report = register::extension::schema().validate(&example);
            assert!(report.is_valid(), "{name}: {:?}", report.errors);
        }
    }
}
