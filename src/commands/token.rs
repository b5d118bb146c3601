//! `ocreg token`: create, list and revoke the API tokens partner agencies publish with.
//!
//! `create` prints the secret alone on standard output, so a script can capture it
//! (`TOKEN=$(ocreg token create --org GB-LAE-MAN)`), and everything meant for a person on
//! standard error.

use std::io::Write;

use anyhow::Context;
use register::{
    DbConnection,
    tokens::{self, TokenError, TokenInfo},
};

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token that may publish for the given organisations; prints its secret once.
    Create {
        /// An organisation the token may publish for, as an org-id (e.g. GB-LAE-MAN); repeat
        /// the option for several.
        #[arg(long = "org", required = true, value_name = "ORG-ID")]
        orgs: Vec<String>,
        /// A label to tell the token apart (default: its organisations).
        #[arg(long)]
        name: Option<String>,
    },
    /// List all tokens, revoked ones included (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it stops working at once, for good.
    Revoke {
        /// The token's id, as `ocreg token list` shows it.
        id: i64,
    },
}

/// Runs `command` on `conn` (which must be migrated), writing to stdout and stderr.
pub fn run(command: TokenCommand, conn: &mut DbConnection) -> anyhow::Result<()> {
    run_with(
        command,
        conn,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

fn run_with(
    command: TokenCommand,
    conn: &mut DbConnection,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { orgs, name } => create(conn, &orgs, name.as_deref(), out, err),
        TokenCommand::List { json } => {
            let tokens = tokens::list(conn)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&tokens)?)?;
            } else if tokens.is_empty() {
                writeln!(
                    err,
                    "no API tokens yet: create one with `ocreg token create --org ORG-ID`"
                )?;
            } else {
                write!(out, "{}", table(&tokens))?;
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let token = tokens::revoke(conn, id).map_err(|e| match e {
                TokenError::NotFound(_) => {
                    anyhow::anyhow!("{e}: `ocreg token list` shows the tokens and their ids")
                }
                e @ TokenError::AlreadyRevoked { .. } => e.into(),
                e => anyhow::Error::new(e).context(format!("cannot revoke API token {id}")),
            })?;
            writeln!(
                out,
                "revoked API token {} {:?} ({}…) for {} at {}",
                token.id,
                token.name,
                token.prefix,
                token.org_ids.join(", "),
                token
                    .revoked_at
                    .map_or_else(|| "-".to_owned(), |at| at.format(TIME_FORMAT).to_string()),
            )?;
            Ok(())
        }
    }
}

fn create(
    conn: &mut DbConnection,
    orgs: &[String],
    name: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    // Checked here first so that a bad --org is reported as such, not as a bad default name.
    let org_ids = orgs
        .iter()
        .map(|org| tokens::parse_org_id(org))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot create the token")?;
    let name = name.map_or_else(|| default_name(&org_ids), str::to_owned);
    let (token, secret) =
        tokens::create(conn, &name, &org_ids).context("cannot create the token")?;
    // The secret first and alone, then flushed, so it is captured even if stderr fails.
    writeln!(out, "{secret}")?;
    out.flush()?;
    writeln!(
        err,
        "created API token {} {:?} ({}…) that may publish for {}\n\
         the token is printed on standard output: store it now, it cannot be shown again.\n\
         Send it as `Authorization: Bearer <token>`; revoke it with `ocreg token revoke {}`.",
        token.id,
        token.name,
        token.prefix,
        token.org_ids.join(", "),
        token.id,
    )?;
    Ok(())
}

/// A name from the organisations, short enough for a listing whatever their number.
fn default_name(org_ids: &[String]) -> String {
    match org_ids {
        [] => "token".to_owned(),
        [only] => only.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// How times are shown: to the minute, in UTC as stored (the binary does not depend on
/// `chrono` itself, so times are formatted through their own methods).
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M UTC";

/// The listing as an aligned table, one token per line.
fn table(tokens: &[TokenInfo]) -> String {
    let header = [
        "ID",
        "NAME",
        "PREFIX",
        "ORGS",
        "CREATED",
        "LAST USED",
        "REVOKED",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = tokens
        .iter()
        .map(|t| {
            [
                t.id.to_string(),
                t.name.clone(),
                format!("{}…", t.prefix),
                t.org_ids.join(","),
                t.created_at.format(TIME_FORMAT).to_string(),
                t.last_used_at.map_or_else(
                    || "never".to_owned(),
                    |at| at.format(TIME_FORMAT).to_string(),
                ),
                t.revoked_at
                    .map_or_else(|| "-".to_owned(), |at| at.format(TIME_FORMAT).to_string()),
            ]
        })
        .collect();
    let mut widths = [0_usize; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        // No padding after the last column.
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use register::testing::TestDb;

    use super::*;

    fn run_captured(command: TokenCommand, conn: &mut DbConnection) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        run_with(command, conn, &mut out, &mut err).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn default_names_stay_short() {
        let orgs = ["GB-LAE-MAN", "GB-NHS-QWO", "GB-CHC-1234567"].map(String::from);
        assert_eq!(default_name(&orgs[..1]), "GB-LAE-MAN");
        assert_eq!(default_name(&orgs), "GB-LAE-MAN and 2 more");
    }

    #[test]
    fn table_columns_line_up() {
        let token = |id, name: &str, revoked: bool| TokenInfo {
            id,
            name: name.to_owned(),
            prefix: "ocreg_abcdef".to_owned(),
            org_ids: vec!["GB-LAE-MAN".to_owned(), "GB-NHS-QWO".to_owned()],
            created_at: "2026-11-24T09:30:00Z".parse().unwrap(),
            last_used_at: None,
            revoked_at: revoked.then(|| "2026-11-24T09:30:00Z".parse().unwrap()),
        };
        let text = table(&[token(1, "Manchester", false), token(12, "Café", true)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID  NAME        PREFIX"), "{text}");
        for line in &lines[1..] {
            assert!(line.contains("GB-LAE-MAN,GB-NHS-QWO"), "{text}");
            assert!(line.contains("2026-11-24 09:30 UTC"), "{text}");
        }
        // Every line puts PREFIX in the same character column.
        let starts: Vec<usize> = lines
            .iter()
            .map(|l| {
                let byte = l
                    .find(if l.starts_with("ID") {
                        "PREFIX"
                    } else {
                        "ocreg_"
                    })
                    .unwrap();
                l[..byte].chars().count()
            })
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert!(lines[1].ends_with("never      -"), "{text}");
        assert!(lines[2].ends_with("2026-11-24 09:30 UTC"), "{text}");
    }

    #[test]
    fn create_list_and_revoke() {
        let test_db = TestDb::new();
        let mut conn = test_db.url.connect().unwrap();

        let (out, err) = run_captured(
            TokenCommand::Create {
                orgs: vec!["gb-lae-MAN".to_owned()],
                name: None,
            },
            &mut conn,
        );
        let secret = out.trim_end_matches('\n');
        assert!(!secret.contains('\n'), "only the secret on stdout: {out:?}");
        assert!(secret.starts_with(tokens::SECRET_PREFIX), "{out:?}");
        assert!(err.contains("cannot be shown again"), "{err}");
        assert!(err.contains("GB-LAE-MAN"), "{err}");
        assert!(!err.contains(secret), "the secret is not repeated: {err}");

        let (out, _) = run_captured(TokenCommand::List { json: false }, &mut conn);
        assert!(out.contains("GB-LAE-MAN") && out.contains("never"), "{out}");
        assert!(!out.contains(secret), "{out}");

        let (out, _) = run_captured(TokenCommand::Revoke { id: 1 }, &mut conn);
        assert!(
            out.starts_with("revoked API token 1 \"GB-LAE-MAN\""),
            "{out}"
        );

        let (out, _) = run_captured(TokenCommand::List { json: true }, &mut conn);
        let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(listed[0]["org_ids"][0], "GB-LAE-MAN");
        assert!(listed[0]["revoked_at"].is_string(), "{out}");
    }

    #[test]
    fn errors_say_what_to_do() {
        let test_db = TestDb::new();
        let mut conn = test_db.url.connect().unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let bad_org = run_with(
            TokenCommand::Create {
                orgs: vec!["GB-LAE-MAN".to_owned(), "Manchester".to_owned()],
                name: None,
            },
            &mut conn,
            &mut out,
            &mut err,
        )
        .unwrap_err();
        let message = format!("{bad_org:#}");
        assert!(message.contains("\"Manchester\""), "{message}");
        assert!(out.is_empty());
        let missing = run_with(
            TokenCommand::Revoke { id: 7 },
            &mut conn,
            &mut out,
            &mut err,
        )
        .unwrap_err();
        assert!(
            format!("{missing:#}").contains("ocreg token list"),
            "{missing:#}"
        );
    }
}
