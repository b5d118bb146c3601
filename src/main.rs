//! `ocreg`: the command line. Each subcommand is a thin shell over the workspace crates.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Parser, Subcommand};
use register::{DatabaseUrl, Settings, db};

mod commands;

// Parsing and merging OCDS builds and drops millions of small maps and strings on several
// threads; mimalloc spends far less time on that than the system allocator (see
// bench/README.md for the measured difference).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ocreg", version, about = "The open commissioning register")]
struct Cli {
    /// Configuration file (TOML). Without it, ./ocreg.toml is read if present.
    #[arg(long, global = true, env = "OCREG_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL, overriding the configuration: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (runs pending migrations first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides `bind` in the configuration).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Do not load the demo data into a database that has no releases.
        #[arg(long)]
        no_demo: bool,
        /// Do not run the sync daemon (the configured sources' schedules) beside the API.
        #[arg(long)]
        no_sync: bool,
    },
    /// Keep the register current from the configured feeds (`[sources.<name>]`): once, or
    /// on their schedules (runs pending migrations first).
    Sync {
        #[command(subcommand)]
        command: commands::sync::SyncCommand,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (the source of openapi/openapi.json).
    Openapi,
    /// Merge releases by ocid into compiled releases, versioned releases or records (as
    /// `ocdskit compile`); exits 1 if any release or ocid had to be left out.
    Compile(commands::compile::CompileArgs),
    /// Check OCDS releases or packages against the 1.1.5 schema; exits 1 when invalid.
    Validate(commands::validate::ValidateArgs),
    /// Load releases (packages, records' embedded releases, arrays, JSON Lines) into the
    /// register, in batches; exits 1 if any release was rejected (runs pending migrations first).
    Import(commands::import::ImportArgs),
    /// Write the bulk downloads (releases and records as OCDS JSON Lines and packages, CSV
    /// tables, a zip of them) into a folder, each file replaced atomically (runs pending
    /// migrations first).
    Export(commands::export::ExportArgs),
    /// Recompute the contract links of one publisher's spend (as each spend import does) and
    /// print payments, contracts, links and the time taken (runs pending migrations first).
    Reconcile(commands::reconcile::ReconcileArgs),
    /// Manage the API tokens partner agencies publish with (runs pending migrations first).
    Token {
        #[command(subcommand)]
        command: commands::token::TokenCommand,
    },
}

/// Exit status: 0 success; 1 the command ran but found problems in its input (invalid data,
/// releases left out); 2 it could not run (usage, configuration, I/O, database).
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; `Ok(false)` when it ran but found problems in its input.
fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Compile(args) => Ok(commands::compile::run(args)?.problems == 0),
        Command::Validate(args) => commands::validate::run(args),
        Command::Openapi => {
            print!("{}", api::openapi::document_json());
            Ok(true)
        }
        Command::Migrate => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            let applied = migrate(&mut conn)?;
            eprintln!(
                "{}: {} migration(s) applied{}",
                url,
                applied.len(),
                if applied.is_empty() {
                    " (up to date)"
                } else {
                    ""
                }
            );
            Ok(true)
        }
        Command::Token { command } => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
            commands::token::run(command, &mut conn)?;
            Ok(true)
        }
        Command::Serve {
            bind,
            no_demo,
            no_sync,
        } => {
            let settings = load_settings(&cli.config, &cli.database)?;
            serve(settings, bind, no_demo, no_sync)?;
            Ok(true)
        }
        Command::Sync { command } => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
            drop(conn);
            commands::sync::run(command, &settings, &url)
        }
        Command::Import(args) => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
            match &args.kind {
                Some(kind) => commands::import::run_file(kind, &mut conn),
                None => Ok(commands::import::run(args, &mut conn)?.clean()),
            }
        }
        Command::Reconcile(args) => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
            commands::reconcile::run(&args, &mut conn)?;
            Ok(true)
        }
        Command::Export(args) => {
            let settings = load_settings(&cli.config, &cli.database)?;
            let url = database_url(&settings)?;
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
            commands::export::run(args, &mut conn, &settings)?;
            Ok(true)
        }
    }
}

/// Brings the schema up to date. When a migration ran on a database that already holds
/// records, their derived columns are recomputed from the stored compiled releases, since
/// columns a migration adds start empty.
fn migrate(conn: &mut register::DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = db::run_migrations(conn)?;
    if !applied.is_empty() && register::releases::count(conn)? > 0 {
        tracing::info!("schema changed: recomputing the derived columns of stored records");
        let refreshed = register::releases::refresh_derived_columns(conn, |done| {
            if done.is_multiple_of(50_000) {
                tracing::info!(records = done, "records refreshed so far");
            }
        })?;
        tracing::info!(records = refreshed, "record columns refreshed");
    }
    Ok(applied)
}

fn load_settings(config: &Option<PathBuf>, database: &Option<String>) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(config.as_deref(), std::env::vars())?;
    if let Some(url) = database {
        settings.database_url = url.clone();
    }
    register::telemetry::init(settings.log_format, &settings.log_level);
    Ok(settings)
}

fn database_url(settings: &Settings) -> anyhow::Result<DatabaseUrl> {
    Ok(settings.database_url.parse()?)
}

fn serve(
    settings: Settings,
    bind: Option<String>,
    no_demo: bool,
    no_sync: bool,
) -> anyhow::Result<()> {
    let url = database_url(&settings)?;
    let mut conn = url.connect()?;
    let applied = migrate(&mut conn)?;
    tracing::info!(database = %url, migrations_applied = applied.len(), "database ready");
    if !no_demo && register::releases::count(&mut conn)? == 0 {
        let demo = commands::demo::load(&mut conn).context("cannot load the demo data")?;
        tracing::info!(
            "the database had no releases: loaded the demo data ({} releases, {} records); \
             start with --no-demo to keep it empty",
            demo.created,
            demo.ocids
        );
    }
    drop(conn);
    let pool = url.pool(settings.database_pool_size)?;
    let bind = bind.unwrap_or_else(|| settings.bind.clone());
    let state = api::AppState::from_settings(pool, url.backend(), &settings);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let daemon = if no_sync {
        None
    } else {
        Some(commands::sync::spawn_daemon(&settings, &url)?)
    };
    let served = actix_web::rt::System::new().block_on(async move {
        let app = api::Application::build(&bind, state, workers)
            .with_context(|| format!("cannot listen on {bind}"))?;
        tracing::info!(
            "ocreg {} serving on http://{}:{} (docs at /docs/)",
            env!("CARGO_PKG_VERSION"),
            bind.rsplit_once(':')
                .map_or(bind.as_str(), |(host, _)| host),
            app.port()
        );
        app.run_until_stopped().await?;
        anyhow::Ok(())
    });
    if let Some(daemon) = daemon {
        daemon.stop();
    }
    tracing::info!("stopped");
    served
}
