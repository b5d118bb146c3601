//! API tokens and the audit log, against a real database of the backend under test, and the
//! `ocreg token` commands of the binary.

use std::process::Output;

use diesel::prelude::*;
use register::{
    DbConnection,
    audit::{self, AuditEntry, NewAuditEntry},
    schema::api_tokens,
    testing::TestDb,
    tokens::{self, TokenError},
};

use crate::support::ocreg;

fn connect(test_db: &TestDb) -> DbConnection {
    test_db.url.connect().expect("connect to the test database")
}

fn orgs(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn audit_entries(conn: &mut DbConnection) -> Vec<AuditEntry> {
    audit::list(conn, 100, None).unwrap()
}

/// A well-formed secret that was never issued.
fn unissued_secret() -> String {
    format!("{}{}", tokens::SECRET_PREFIX, "0".repeat(64))
}

#[test]
fn create_then_authenticate_only_with_the_secret() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (token, secret) = tokens::create(
        &mut conn,
        " Manchester publishing ",
        &orgs(&["GB-LAE-MAN", "gb-nhs-QWO"]),
    )
    .unwrap();
    assert_eq!(token.name, "Manchester publishing");
    assert_eq!(token.org_ids, ["GB-LAE-MAN", "GB-NHS-QWO"]);
    assert!(secret.starts_with("ocreg_") && secret.len() == tokens::SECRET_LEN);
    assert!(secret.starts_with(&token.prefix));

    let holder = tokens::authenticate(&mut conn, &secret)
        .unwrap()
        .expect("the new secret authenticates");
    assert_eq!(holder.token_id, token.id);
    assert_eq!(holder.name, token.name);
    assert_eq!(holder.org_ids, token.org_ids);
    // A trailing newline, as from a file or `$(...)`, does not matter.
    assert!(
        tokens::authenticate(&mut conn, &format!("{secret}\n"))
            .unwrap()
            .is_some()
    );

    let mut wrong = secret.clone();
    let last = if secret.ends_with('0') { "1" } else { "0" };
    wrong.replace_range(secret.len() - 1.., last);
    for presented in [
        wrong.as_str(),
        &unissued_secret(),
        &secret.to_uppercase(),
        &secret[..secret.len() - 1],
        "",
        "Bearer",
    ] {
        assert_eq!(
            tokens::authenticate(&mut conn, presented).unwrap(),
            None,
            "{presented:?} must not authenticate"
        );
    }
}

#[test]
fn token_scopes_publishing_to_its_organisations() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (_, secret) = tokens::create(
        &mut conn,
        "Trafford",
        &orgs(&["GB-LAE-TRF", "GB-CHC-1234567"]),
    )
    .unwrap();
    let holder = tokens::authenticate(&mut conn, &secret).unwrap().unwrap();
    assert!(holder.may_publish_for("GB-LAE-TRF"));
    assert!(holder.may_publish_for("gb-chc-1234567"));
    assert!(!holder.may_publish_for("GB-LAE-MAN"));
}

#[test]
fn only_a_hash_of_the_secret_is_stored() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (token, secret) = tokens::create(&mut conn, "Stockport", &orgs(&["GB-LAE-SKP"])).unwrap();

    let (name, prefix, hash, org_ids): (String, String, String, String) = api_tokens::table
        .find(token.id)
        .select((
            api_tokens::name,
            api_tokens::token_prefix,
            api_tokens::token_hash,
            api_tokens::org_ids,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        hash.len(),
        64,
        "a SHA-256 in hex is stored as token_hash: {hash}"
    );
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let random_part = &secret[tokens::SECRET_PREFIX.len()..];
    for column in [&name, &prefix, &hash, &org_ids] {
        assert!(
            !column.contains(random_part),
            "the secret is stored: {column}"
        );
    }
    assert_eq!(prefix, token.prefix);
    assert_eq!(prefix.len(), 12);
    assert!(secret.starts_with(&prefix));
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&org_ids).unwrap(),
        ["GB-LAE-SKP"]
    );

    // The stored hash is what authentication consults: change it and the secret stops working.
    diesel::update(api_tokens::table.find(token.id))
        .set(api_tokens::token_hash.eq("0".repeat(64)))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(tokens::authenticate(&mut conn, &secret).unwrap(), None);
}

#[test]
fn revoked_tokens_no_longer_authenticate() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (kept, kept_secret) = tokens::create(&mut conn, "kept", &orgs(&["GB-LAE-MAN"])).unwrap();
    let (token, secret) = tokens::create(&mut conn, "leaked", &orgs(&["GB-LAE-MAN"])).unwrap();
    assert!(tokens::authenticate(&mut conn, &secret).unwrap().is_some());

    let revoked = tokens::revoke(&mut conn, token.id).unwrap();
    assert!(revoked.is_revoked());
    assert_eq!(tokens::authenticate(&mut conn, &secret).unwrap(), None);
    assert_eq!(
        tokens::get(&mut conn, token.id).unwrap().revoked_at,
        revoked.revoked_at,
        "the returned revocation time is the stored one"
    );

    let holder = tokens::authenticate(&mut conn, &kept_secret).unwrap();
    assert_eq!(
        holder.map(|h| h.token_id),
        Some(kept.id),
        "other tokens still work"
    );
}

#[test]
fn revoking_unknown_or_revoked_tokens_is_explained() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (token, _) = tokens::create(&mut conn, "Bolton", &orgs(&["GB-LAE-BOL"])).unwrap();
    let first = tokens::revoke(&mut conn, token.id).unwrap();

    let again = tokens::revoke(&mut conn, token.id).unwrap_err();
    match &again {
        TokenError::AlreadyRevoked { id, revoked_at, .. } => {
            assert_eq!(*id, token.id);
            assert_eq!(
                Some(*revoked_at),
                first.revoked_at,
                "the first time is kept"
            );
        }
        other => panic!("expected AlreadyRevoked, got {other:?}"),
    }
    assert!(again.to_string().contains("already revoked"), "{again}");

    let missing = tokens::revoke(&mut conn, 999).unwrap_err();
    assert!(matches!(missing, TokenError::NotFound(999)), "{missing:?}");
    assert!(missing.to_string().contains("999"), "{missing}");
    let revocations = audit_entries(&mut conn)
        .into_iter()
        .filter(|e| e.action == "token.revoke")
        .count();
    assert_eq!(revocations, 1, "failed revocations are not audited");
}

#[test]
fn authenticating_records_last_use() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (token, secret) = tokens::create(&mut conn, "Wigan", &orgs(&["GB-LAE-WGN"])).unwrap();
    assert_eq!(token.last_used_at, None);
    assert_eq!(tokens::get(&mut conn, token.id).unwrap().last_used_at, None);

    tokens::authenticate(&mut conn, &secret).unwrap().unwrap();
    let used = tokens::get(&mut conn, token.id)
        .unwrap()
        .last_used_at
        .expect("last_used_at is set");
    assert!(used >= token.created_at, "{used} < {}", token.created_at);

    tokens::authenticate(&mut conn, &secret).unwrap().unwrap();
    let again = tokens::get(&mut conn, token.id)
        .unwrap()
        .last_used_at
        .unwrap();
    assert!(again >= used);

    // A failed attempt is not a use.
    tokens::revoke(&mut conn, token.id).unwrap();
    tokens::authenticate(&mut conn, &secret).unwrap();
    assert_eq!(
        tokens::get(&mut conn, token.id).unwrap().last_used_at,
        Some(again)
    );
}

#[test]
fn invalid_org_ids_are_rejected_and_nothing_is_stored() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    for (given, named) in [
        (orgs(&["GB-LAE-MAN", ""]), "\"\""),
        (orgs(&["  "]), "\"  \""),
        (
            orgs(&["Manchester City Council"]),
            "Manchester City Council",
        ),
        (orgs(&["GB-LAE"]), "\"GB-LAE\""),
        (orgs(&["GB_LAE-MAN"]), "\"GB_LAE-MAN\""),
    ] {
        let err = tokens::create(&mut conn, "bad", &given).unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidOrgId { .. }),
            "{given:?}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(named), "{given:?}: {message}");
        assert!(
            message.contains("GB-LAE-MAN"),
            "shows an example: {message}"
        );
    }
    let none = tokens::create(&mut conn, "none", &[]).unwrap_err();
    assert!(matches!(none, TokenError::NoOrganisations), "{none:?}");
    assert!(none.to_string().contains("at least one organisation"));
    let bad_name = tokens::create(&mut conn, " ", &orgs(&["GB-LAE-MAN"])).unwrap_err();
    assert!(
        matches!(bad_name, TokenError::InvalidName { .. }),
        "{bad_name:?}"
    );

    assert!(tokens::list(&mut conn).unwrap().is_empty());
    assert!(audit_entries(&mut conn).is_empty());
}

#[test]
fn create_and_revoke_are_audited() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (token, secret) =
        tokens::create(&mut conn, "Oldham", &orgs(&["GB-LAE-OLD", "GB-NHS-QOP"])).unwrap();
    tokens::revoke(&mut conn, token.id).unwrap();

    let entries = audit_entries(&mut conn);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let (revoke, create) = (&entries[0], &entries[1]);
    assert_eq!(create.action, "token.create");
    assert_eq!(revoke.action, "token.revoke");
    let subject = format!("token:{}", token.id);
    for entry in [create, revoke] {
        assert_eq!(entry.actor, audit::CLI_ACTOR);
        assert_eq!(entry.subject_ids, [subject.as_str()]);
        assert_eq!(entry.request_id, None);
        let detail = entry.detail.as_ref().expect("detail recorded");
        assert_eq!(detail["name"], "Oldham");
        assert_eq!(detail["prefix"], token.prefix.as_str());
        assert_eq!(
            detail["org_ids"],
            serde_json::json!(["GB-LAE-OLD", "GB-NHS-QOP"])
        );
        let text = serde_json::to_string(entry).unwrap();
        assert!(
            !text.contains(&secret[tokens::SECRET_PREFIX.len()..]),
            "{text}"
        );
    }
    assert!(revoke.id > create.id && revoke.at >= create.at);
}

#[test]
fn listings_never_expose_secrets_or_hashes() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let (first, first_secret) = tokens::create(&mut conn, "first", &orgs(&["GB-LAE-MAN"])).unwrap();
    let (second, second_secret) =
        tokens::create(&mut conn, "second", &orgs(&["GB-LAE-SLF"])).unwrap();
    tokens::revoke(&mut conn, first.id).unwrap();

    let listed = tokens::list(&mut conn).unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
    assert!(listed[0].is_revoked() && !listed[1].is_revoked());
    assert_eq!(listed[1], second, "create returns what is stored");

    let hashes: Vec<String> = api_tokens::table
        .select(api_tokens::token_hash)
        .load(&mut conn)
        .unwrap();
    let json = serde_json::to_string(&listed).unwrap();
    for hidden in hashes.iter().map(String::as_str).chain([
        &first_secret[tokens::SECRET_PREFIX.len()..],
        &second_secret[tokens::SECRET_PREFIX.len()..],
    ]) {
        assert!(!json.contains(hidden), "{json}");
        assert!(!format!("{listed:?}").contains(hidden));
    }
    let fields: Vec<String> = serde_json::from_str::<serde_json::Value>(&json).unwrap()[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "prefix",
            "org_ids",
            "created_at",
            "last_used_at",
            "revoked_at"
        ]
    );
}

#[test]
fn audit_log_pages_newest_first() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            audit::record(
                &mut conn,
                NewAuditEntry {
                    actor: "sync:fts".to_owned(),
                    action: "release.import".to_owned(),
                    subject_ids: vec![format!("ocds-b5fd17-{n}")],
                    request_id: None,
                    detail: None,
                },
            )
            .unwrap(),
        );
    }
    let page = audit::list(&mut conn, 2, None).unwrap();
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[4], ids[3]]
    );
    let next = audit::list(&mut conn, 2, Some(page[1].id)).unwrap();
    assert_eq!(
        next.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[1]]
    );
    let last = audit::list(&mut conn, 2, Some(next[1].id)).unwrap();
    assert_eq!(last.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[0]]);
    assert!(audit::list(&mut conn, 2, Some(ids[0])).unwrap().is_empty());
    assert!(audit::list(&mut conn, 0, None).unwrap().is_empty());
}

#[test]
fn audit_entries_keep_request_id_and_detail() {
    let test_db = TestDb::new();
    let mut conn = connect(&test_db);
    let detail =
        serde_json::json!({"releases": 3, "note": "pooled budget \"BCF\"", "amount": 1.10});
    let id = audit::record(
        &mut conn,
        NewAuditEntry {
            actor: "token:4 (Manchester)".to_owned(),
            action: "release.publish".to_owned(),
            subject_ids: vec!["ocds-b5fd17-1".to_owned(), "ocds-b5fd17-1-r2".to_owned()],
            request_id: Some("req-7f3a".to_owned()),
            detail: Some(detail.clone()),
        },
    )
    .unwrap();
    let entry = audit_entries(&mut conn).remove(0);
    assert_eq!(entry.id, id);
    assert_eq!(entry.actor, "token:4 (Manchester)");
    assert_eq!(entry.subject_ids, ["ocds-b5fd17-1", "ocds-b5fd17-1-r2"]);
    assert_eq!(entry.request_id.as_deref(), Some("req-7f3a"));
    assert_eq!(entry.detail, Some(detail));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let age = i64::try_from(now).unwrap() - entry.at.timestamp();
    assert!(age.abs() < 60, "stored in UTC: {} vs now", entry.at);

    let missing_actor = audit::record(
        &mut conn,
        NewAuditEntry {
            actor: " ".to_owned(),
            action: "release.publish".to_owned(),
            subject_ids: vec![],
            request_id: None,
            detail: None,
        },
    )
    .unwrap_err();
    assert!(
        missing_actor.to_string().contains("actor"),
        "{missing_actor}"
    );
}

// The `ocreg token` commands, through the binary.

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn token_command(test_db: &TestDb, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    ocreg(dir.path())
        .args(["--database", &test_db.url_string(), "token"])
        .args(args)
        .output()
        .expect("run ocreg token")
}

#[test]
fn cli_create_prints_only_the_secret_on_stdout() {
    let test_db = TestDb::new();
    let output = token_command(
        &test_db,
        &[
            "create",
            "--org",
            "GB-LAE-MAN",
            "--org",
            "GB-NHS-QWO",
            "--name",
            "Manchester",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let secret = out.strip_suffix('\n').expect("one line");
    assert!(!secret.contains('\n'), "{out:?}");
    let err = stderr(&output);
    assert!(err.contains("cannot be shown again"), "{err}");
    assert!(err.contains("GB-LAE-MAN, GB-NHS-QWO"), "{err}");
    assert!(!err.contains(secret), "{err}");

    let mut conn = connect(&test_db);
    let holder = tokens::authenticate(&mut conn, secret).unwrap().unwrap();
    assert_eq!(holder.name, "Manchester");
    assert_eq!(holder.org_ids, ["GB-LAE-MAN", "GB-NHS-QWO"]);
}

#[test]
fn cli_lists_and_revokes() {
    let test_db = TestDb::new();
    let created = token_command(&test_db, &["create", "--org", "GB-LAE-SLF"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let secret = stdout(&created).trim().to_owned();

    let table = token_command(&test_db, &["list"]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("LAST USED"),
        "{text}"
    );
    assert!(
        lines[1].contains("GB-LAE-SLF") && lines[1].contains("never"),
        "{text}"
    );
    assert!(lines[1].contains(&secret[..12]), "{text}");
    assert!(!text.contains(&secret), "{text}");

    let revoked = token_command(&test_db, &["revoke", "1"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(
        stdout(&revoked).contains("revoked API token 1 \"GB-LAE-SLF\""),
        "{}",
        stdout(&revoked)
    );
    let again = token_command(&test_db, &["revoke", "1"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already revoked"),
        "{}",
        stderr(&again)
    );

    let json = token_command(&test_db, &["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(listed[0]["id"], 1);
    assert!(listed[0]["revoked_at"].is_string(), "{listed}");
    assert!(listed[0].get("token_hash").is_none());

    let mut conn = connect(&test_db);
    assert_eq!(tokens::authenticate(&mut conn, &secret).unwrap(), None);
}

#[test]
fn cli_refuses_bad_org_ids_and_missing_orgs() {
    let test_db = TestDb::new();
    let bad = token_command(&test_db, &["create", "--org", "Manchester"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    let err = stderr(&bad);
    assert!(
        err.contains("\"Manchester\"") && err.contains("GB-LAE-MAN"),
        "{err}"
    );

    let none = token_command(&test_db, &["create"]);
    assert!(!none.status.success());
    assert!(stderr(&none).contains("--org"), "{}", stderr(&none));

    let mut conn = connect(&test_db);
    assert!(tokens::list(&mut conn).unwrap().is_empty());
}
