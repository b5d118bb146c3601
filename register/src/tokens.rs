//! API tokens: how partner agencies authenticate to publish to the register.
//!
//! A token is a secret `ocreg_` followed by 64 hex digits (32 bytes from the operating
//! system's random source). It is shown once, when created; the database keeps only its
//! SHA-256 hash, and its first characters so people can tell tokens apart in listings.
//! Each token is scoped to the organisations (org-id identifiers) it may publish for, and can
//! be revoked, after which it stops working at once. Creating and revoking are audited.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, AuditError, CLI_ACTOR, NewAuditEntry, json_array, now},
    db::DbConnection,
    schema::api_tokens,
};

/// What every secret starts with, so a leaked token is recognisable (by people and by secret
/// scanners) and a wrong value (say, a token for another service) is refused without a query.
pub const SECRET_PREFIX: &str = "ocreg_";
/// Random bytes in a secret: 256 bits, far beyond guessing.
const SECRET_BYTES: usize = 32;
/// Length of a secret: the prefix and two hex digits per byte.
pub const SECRET_LEN: usize = SECRET_PREFIX.len() + 2 * SECRET_BYTES;
/// Characters of the secret kept in clear for listings: the prefix and 6 hex digits, enough to
/// tell tokens apart while revealing only 24 of the 256 random bits.
const LISTED_PREFIX_LEN: usize = SECRET_PREFIX.len() + 6;
/// Longest token name accepted, in characters; names are labels, not documents.
const MAX_NAME_CHARS: usize = 100;
/// Longest organisation identifier accepted, in characters.
const MAX_ORG_ID_CHARS: usize = 200;

/// A token as listed: everything but the secret and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret (e.g. `ocreg_3f9a1c`), to recognise it.
    pub prefix: String,
    /// The organisations it may publish for, in canonical form (see [`parse_org_id`]).
    pub org_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// The holder of a valid, unrevoked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub token_id: i64,
    pub name: String,
    pub org_ids: Vec<String>,
}

impl Authenticated {
    /// Whether this token may publish for `org_id`. Both sides are put in canonical form first
    /// (surrounding whitespace removed, the scheme part upper-cased: `gb-lae-MAN` is
    /// `GB-LAE-MAN`); the identifier part must then match exactly, because some registers'
    /// identifiers are case-sensitive. A value that is not an org-id matches nothing.
    pub fn may_publish_for(&self, org_id: &str) -> bool {
        let Ok(wanted) = parse_org_id(org_id) else {
            return false;
        };
        self.org_ids
            .iter()
            .any(|allowed| parse_org_id(allowed).is_ok_and(|allowed| allowed == wanted))
    }

    /// The actor to record in the audit log for changes made with this token.
    pub fn actor(&self) -> String {
        format!("token:{} ({})", self.token_id, self.name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "a token must be allowed to publish for at least one organisation: give an org-id such \
         as GB-LAE-MAN"
    )]
    NoOrganisations,
    #[error(
        "{value:?} is not an organisation identifier: {reason}; use the org-id.guide form \
         SCHEME-IDENTIFIER, e.g. GB-LAE-MAN, GB-CHC-1234567 or GB-NHS-QWO"
    )]
    InvalidOrgId { value: String, reason: &'static str },
    #[error("there is no API token with id {0}")]
    NotFound(i64),
    #[error(
        "API token {id} ({name}) was already revoked at {}",
        revoked_at.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    AlreadyRevoked {
        id: i64,
        name: String,
        revoked_at: DateTime<Utc>,
    },
    #[error("cannot get random bytes from the operating system for a token secret: {0}")]
    Random(getrandom::Error),
    #[error(
        "API token {id} has an unreadable org_ids column ({error}); it was not written by ocreg \
         or was edited by hand: revoke it and create a new one"
    )]
    Corrupt { id: i64, error: serde_json::Error },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cannot read or write API tokens: {0}")]
    Database(diesel::result::Error),
}

// Written out rather than `#[from]`, which would also make the diesel error the `source`, and
// `anyhow`'s `{:#}` would then print its message twice.
impl From<diesel::result::Error> for TokenError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}

/// The columns of a listing, in [`TokenInfo`] order; never the hash.
type InfoRow = (
    i64,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

const INFO_COLUMNS: (
    api_tokens::id,
    api_tokens::name,
    api_tokens::token_prefix,
    api_tokens::org_ids,
    api_tokens::created_at,
    api_tokens::last_used_at,
    api_tokens::revoked_at,
) = (
    api_tokens::id,
    api_tokens::name,
    api_tokens::token_prefix,
    api_tokens::org_ids,
    api_tokens::created_at,
    api_tokens::last_used_at,
    api_tokens::revoked_at,
);

/// Creates a token that may publish for `org_ids` and records it in the audit log (actor
/// [`CLI_ACTOR`]: tokens are made with the command line). Returns the token and its secret;
/// the secret is not stored and cannot be shown again.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    org_ids: &[String],
) -> Result<(TokenInfo, String), TokenError> {
    let org_ids = parse_org_ids(org_ids)?;
    let name = parse_name(name)?;
    let secret = generate_secret()?;
    let prefix = listed_prefix(&secret).to_owned();
    let created_at = now();
    let info = conn.transaction(|conn| {
        let id: i64 = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::name.eq(&name),
                api_tokens::token_prefix.eq(&prefix),
                api_tokens::token_hash.eq(hash_secret(&secret)),
                api_tokens::org_ids.eq(json_array(&org_ids)),
                api_tokens::created_at.eq(created_at),
            ))
            .returning(api_tokens::id)
            .get_result(conn)?;
        audit::record(
            conn,
            NewAuditEntry {
                actor: CLI_ACTOR.to_owned(),
                action: "token.create".to_owned(),
                subject_ids: vec![subject_id(id)],
                request_id: None,
                detail: Some(serde_json::json!({
                    "name": name,
                    "prefix": prefix,
                    "org_ids": org_ids,
                })),
            },
        )?;
        Ok::<_, TokenError>(TokenInfo {
            id,
            name,
            prefix,
            org_ids,
            created_at: created_at.and_utc(),
            last_used_at: None,
            revoked_at: None,
        })
    })?;
    Ok((info, secret))
}

/// Every token, revoked ones included, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<TokenInfo>, TokenError> {
    let rows: Vec<InfoRow> = api_tokens::table
        .select(INFO_COLUMNS)
        .order(api_tokens::id.asc())
        .load(conn)?;
    rows.into_iter().map(token_info).collect()
}

/// One token by id.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<TokenInfo, TokenError> {
    let row: Option<InfoRow> = api_tokens::table
        .find(id)
        .select(INFO_COLUMNS)
        .first(conn)
        .optional()?;
    match row {
        Some(row) => token_info(row),
        None => Err(TokenError::NotFound(id)),
    }
}

/// Revokes a token, so it no longer authenticates, and records it in the audit log (actor
/// [`CLI_ACTOR`]). Revoking is final: make a new token to restore access.
pub fn revoke(conn: &mut DbConnection, id: i64) -> Result<TokenInfo, TokenError> {
    conn.transaction(|conn| {
        let token = get(conn, id)?;
        let already_revoked = |token: TokenInfo| match token.revoked_at {
            Some(revoked_at) => Err(TokenError::AlreadyRevoked {
                id,
                name: token.name,
                revoked_at,
            }),
            None => Ok(token),
        };
        let token = already_revoked(token)?;
        let revoked_at = now();
        // The `revoked_at IS NULL` condition makes a concurrent second revoke update nothing,
        // so the first revocation time is kept and reported.
        let updated = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(revoked_at))
        .execute(conn)?;
        if updated == 0 {
            return already_revoked(get(conn, id)?);
        }
        audit::record(
            conn,
            NewAuditEntry {
                actor: CLI_ACTOR.to_owned(),
                action: "token.revoke".to_owned(),
                subject_ids: vec![subject_id(id)],
                request_id: None,
                detail: Some(serde_json::json!({
                    "name": token.name,
                    "prefix": token.prefix,
                    "org_ids": token.org_ids,
                })),
            },
        )?;
        Ok(TokenInfo {
            revoked_at: Some(revoked_at.and_utc()),
            ..token
        })
    })
}

/// The holder of `presented_secret` (surrounding whitespace ignored), or `None` when it is not
/// a current token: unknown, malformed or revoked. Records the time of use on success.
///
/// The secret is found by its hash through the unique index, not compared in the program, so
/// there is no comparison whose timing could leak the secret; what a lookup's timing could
/// reveal is about the hash, which does not help to forge a secret.
pub fn authenticate(
    conn: &mut DbConnection,
    presented_secret: &str,
) -> Result<Option<Authenticated>, TokenError> {
    let presented = presented_secret.trim();
    if !looks_like_secret(presented) {
        return Ok(None);
    }
    let row: Option<(i64, String, String, Option<NaiveDateTime>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(hash_secret(presented)))
        .select((
            api_tokens::id,
            api_tokens::name,
            api_tokens::org_ids,
            api_tokens::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, name, org_ids, revoked_at)) = row else {
        return Ok(None);
    };
    if revoked_at.is_some() {
        tracing::info!(token_id = id, "a revoked API token was presented");
        return Ok(None);
    }
    // Conditional, so a token revoked between the two statements is refused.
    let updated = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::last_used_at.eq(now()))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    Ok(Some(Authenticated {
        token_id: id,
        name,
        org_ids: decode_org_ids(id, &org_ids)?,
    }))
}

/// The canonical form of an org-id.guide identifier: `SCHEME-IDENTIFIER`, where the scheme is
/// letters or digits on each side of one dash (`GB-LAE`, `GB-CHC`, `XI-IATI`) and the
/// identifier is what follows the next dash (`MAN`, `1234567`; it may itself contain dashes).
/// Surrounding whitespace is removed and the scheme upper-cased, as org-id.guide lists it; the
/// identifier is kept as given.
pub fn parse_org_id(value: &str) -> Result<String, TokenError> {
    let invalid = |reason| TokenError::InvalidOrgId {
        value: value.to_owned(),
        reason,
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.chars().count() > MAX_ORG_ID_CHARS {
        return Err(invalid("it is longer than 200 characters"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains a space or a control character"));
    }
    let mut parts = trimmed.splitn(3, '-');
    let (country, list, identifier) = match (parts.next(), parts.next(), parts.next()) {
        (Some(country), Some(list), Some(identifier)) => (country, list, identifier),
        _ => return Err(invalid("it has no identifier after the scheme")),
    };
    let alphanumeric =
        |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(country) || !alphanumeric(list) {
        return Err(invalid(
            "the scheme must be letters or digits on each side of one dash, like GB-LAE",
        ));
    }
    if identifier.is_empty() {
        return Err(invalid("it has no identifier after the scheme"));
    }
    Ok(format!(
        "{}-{}-{identifier}",
        country.to_ascii_uppercase(),
        list.to_ascii_uppercase()
    ))
}

/// Validated, canonical and without repeats (first occurrence kept); at least one.
fn parse_org_ids(values: &[String]) -> Result<Vec<String>, TokenError> {
    let mut org_ids: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let org_id = parse_org_id(value)?;
        if !org_ids.contains(&org_id) {
            org_ids.push(org_id);
        }
    }
    if org_ids.is_empty() {
        return Err(TokenError::NoOrganisations);
    }
    Ok(org_ids)
}

fn parse_name(value: &str) -> Result<String, TokenError> {
    let invalid = |reason| TokenError::InvalidName {
        name: value.to_owned(),
        reason,
    };
    let name = value.trim();
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("it is longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "it contains a control character (such as a newline)",
        ));
    }
    Ok(name.to_owned())
}

/// A new secret from the operating system's random source.
fn generate_secret() -> Result<String, TokenError> {
    let mut bytes = [0_u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    Ok(format!("{SECRET_PREFIX}{}", crate::digest::hex(&bytes)))
}

/// The stored form of a secret: its SHA-256, in hex. A fast hash is right here, unlike for
/// passwords: a secret has 256 random bits, so no amount of hashing speed makes guessing it
/// from a stolen hash feasible, and a slow hash (argon2, bcrypt) would only add its cost to
/// every API request.
fn hash_secret(secret: &str) -> String {
    crate::digest::sha256_hex(secret.as_bytes())
}

fn looks_like_secret(value: &str) -> bool {
    value.len() == SECRET_LEN
        && value
            .strip_prefix(SECRET_PREFIX)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn listed_prefix(secret: &str) -> &str {
    secret.get(..LISTED_PREFIX_LEN).unwrap_or(secret)
}

/// How tokens appear among the audit log's subject ids.
fn subject_id(id: i64) -> String {
    format!("token:{id}")
}

fn decode_org_ids(id: i64, text: &str) -> Result<Vec<String>, TokenError> {
    serde_json::from_str(text).map_err(|error| TokenError::Corrupt { id, error })
}

fn token_info(row: InfoRow) -> Result<TokenInfo, TokenError> {
    let (id, name, prefix, org_ids, created_at, last_used_at, revoked_at) = row;
    Ok(TokenInfo {
        id,
        name,
        prefix,
        org_ids: decode_org_ids(id, &org_ids)?,
        created_at: created_at.and_utc(),
        last_used_at: last_used_at.map(|t| t.and_utc()),
        revoked_at: revoked_at.map(|t| t.and_utc()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_in_the_org_id_guide_form_are_accepted() {
        for (given, canonical) in [
            ("GB-LAE-MAN", "GB-LAE-MAN"),
            ("GB-CHC-1234567", "GB-CHC-1234567"),
            ("GB-NHS-QWO", "GB-NHS-QWO"),
            ("  gb-coh-SC123456\n", "GB-COH-SC123456"),
            ("XI-GRID-grid.1234.5", "XI-GRID-grid.1234.5"),
            ("GB-SC-SC012345-01", "GB-SC-SC012345-01"),
        ] {
            assert_eq!(parse_org_id(given).unwrap(), canonical, "{given:?}");
        }
    }

    #[test]
    fn malformed_org_ids_are_refused_with_the_value_named() {
        for (given, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("GBLAEMAN", "no identifier"),
            ("GB-LAE", "no identifier"),
            ("GB-LAE-", "no identifier"),
            ("GB--MAN", "scheme"),
            ("-LAE-MAN", "scheme"),
            ("G_B-LAE-MAN", "scheme"),
            ("GB-LAE-MAN CITY", "space"),
            ("GB-LAE-M\u{7}AN", "control"),
        ] {
            let err = parse_org_id(given).unwrap_err().to_string();
            assert!(err.contains(reason), "{given:?}: {err}");
            assert!(err.contains(&format!("{given:?}")), "{given:?}: {err}");
            assert!(
                err.contains("GB-LAE-MAN"),
                "the message shows an example: {err}"
            );
        }
        let long = format!("GB-LAE-{}", "x".repeat(200));
        assert!(parse_org_id(&long).is_err());
    }

    #[test]
    fn org_id_lists_are_deduplicated_and_not_empty() {
        let given = ["gb-lae-MAN", "GB-LAE-MAN", "GB-NHS-QWO"].map(String::from);
        assert_eq!(parse_org_ids(&given).unwrap(), ["GB-LAE-MAN", "GB-NHS-QWO"]);
        assert!(matches!(
            parse_org_ids(&[]),
            Err(TokenError::NoOrganisations)
        ));
    }

    #[test]
    fn names_are_trimmed_single_line_labels() {
        assert_eq!(parse_name("  Manchester CC  ").unwrap(), "Manchester CC");
        assert!(parse_name(" ").is_err());
        assert!(parse_name("two\nlines").is_err());
        assert!(parse_name(&"n".repeat(101)).is_err());
        assert!(parse_name(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn secrets_are_prefixed_hex_and_differ() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_LEN);
        assert!(looks_like_secret(&a), "{a}");
        assert_eq!(listed_prefix(&a).len(), 12);
        assert!(a.starts_with(listed_prefix(&a)));
    }

    #[test]
    fn only_well_formed_secrets_are_looked_up() {
        let hex64 = "0123456789abcdef".repeat(4);
        assert!(looks_like_secret(&format!("ocreg_{hex64}")));
        assert!(!looks_like_secret(&format!("other_{hex64}")));
        assert!(!looks_like_secret(&format!("ocreg_{hex64}0")));
        assert!(!looks_like_secret(&format!("ocreg_{}", "g".repeat(64))));
        assert!(!looks_like_secret(""));
    }

    #[test]
    fn hash_is_sha256_in_hex() {
        // The FIPS 180-2 test vector for "abc".
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn publishing_rights_follow_the_token_orgs() {
        let holder = Authenticated {
            token_id: 1,
            name: "Manchester".to_owned(),
            org_ids: vec!["GB-LAE-MAN".to_owned(), "GB-COH-SC123456".to_owned()],
        };
        assert!(holder.may_publish_for("GB-LAE-MAN"));
        assert!(holder.may_publish_for(" gb-lae-MAN "));
        assert!(holder.may_publish_for("GB-COH-SC123456"));
        assert!(
            !holder.may_publish_for("GB-COH-sc123456"),
            "identifiers are exact"
        );
        assert!(!holder.may_publish_for("GB-LAE-MANC"));
        assert!(!holder.may_publish_for("GB-NHS-QWO"));
        assert!(!holder.may_publish_for(""));
        assert_eq!(holder.actor(), "token:1 (Manchester)");
    }
}
