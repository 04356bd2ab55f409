//! `anjia`: run the platform, migrate storage, import auction data, rebuild the search index.

use anjia::{Config, config};
use anjia_ingest::ImportKind;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// anjia — judicial-auction and asset-auction lots: import, search, serve.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (default: ./anjia.toml if present). ANJIA_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API; on an empty database, import the bundled data first.
    Serve,
    /// Create or update the database schema.
    Migrate,
    /// Import files of one kind: ali-list, sf-taobao, jd-asset, taobao-asset, jsonl.
    Import {
        /// Source format.
        kind: String,
        /// Files to import (each in its own transaction).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Rebuild the search index from the database.
    Reindex,
    /// Export all lots as canonical JSON Lines (importable with `import jsonl`).
    Export {
        /// Output file.
        #[arg(long)]
        output: PathBuf,
    },
    /// Write N synthetic lots drawn from the bundled titles' distributions as canonical JSON Lines
    /// (for load tests and benchmarks; see anjia_search::synth). Import them with `import jsonl`.
    Synth {
        /// Number of lots.
        #[arg(long)]
        count: usize,
        /// Random seed (the same seed gives the same lots).
        #[arg(long, default_value_t = 2020)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        output: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("anjia: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("anjia: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("anjia: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command, cfg: config::Config) -> anyhow::Result<()> {
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cmd {
        Command::Serve => {
            let started = std::time::Instant::now();
            let (store, index) = anjia::prepare(&cfg, tty).await?;
            let listener = tokio::net::TcpListener::bind(&cfg.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
            let addr = listener.local_addr()?;
            tracing::info!(
                %addr, lots = index.num_docs(), ready_after_ms = started.elapsed().as_millis() as u64,
                "serving http://{addr}/"
            );
            let state = anjia_web::AppState::new(store, index);
            anjia_web::serve(listener, state, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::Migrate => {
            anjia::open_store(&cfg).await?;
            println!(
                "migrations applied to {}",
                anjia::redact_url(&cfg.database_url)
            );
        }
        Command::Import { kind, paths } => {
            let Some(kind) = ImportKind::parse(&kind) else {
                let valid: Vec<_> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
                anyhow::bail!(
                    "unknown import kind {kind:?}; valid kinds: {}",
                    valid.join(", ")
                );
            };
            let store = anjia::open_store(&cfg).await?;
            let index = anjia::open_index(&cfg)?;
            let mut failed = 0;
            for p in &paths {
                match anjia::import_file(&store, &index, kind, p, tty).await {
                    Ok(s) => anjia::print_imported(&s),
                    Err(e) => {
                        failed += 1;
                        eprintln!(
                            "anjia: {}: {e:#} (nothing from this file was written)",
                            p.display()
                        );
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} files failed", paths.len());
            }
        }
        Command::Reindex => {
            let store = anjia::open_store(&cfg).await?;
            let index = anjia::open_index(&cfg)?;
            let n = anjia::reindex(&store, &index, tty).await?;
            println!("indexed {n} lots");
        }
        Command::Synth {
            count,
            seed,
            output,
        } => {
            let f = std::fs::File::create(&output)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", output.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let mut lots = anjia_search::synth::Generator::bundled(seed).take(count);
            let mut n = 0usize;
            loop {
                let chunk: Vec<_> = lots.by_ref().take(10_000).map(|p| p.data).collect();
                if chunk.is_empty() {
                    break;
                }
                anjia_ingest::canonical::write_jsonl(&mut w, &chunk)?;
                n += chunk.len();
            }
            std::io::Write::flush(&mut w)?;
            println!("wrote {n} synthetic lots to {}", output.display());
        }
        Command::Export { output } => {
            let store = anjia::open_store(&cfg).await?;
            let n = anjia::export(&store, &output).await?;
            println!("exported {n} lots to {}", output.display());
        }
    }
    Ok(())
}
