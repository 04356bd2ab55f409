//! `anjia`: run the platform, migrate storage, import auction data, rebuild the search index.

use anjia::{Config, config};
use anjia_ingest::ImportKind;
use anyhow::Context as _;
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
    /// The retention job: delete what the inventory's retention rules say has been kept long
    /// enough (`serve` runs it every hour).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// The compliance report: every privacy check that can run against this installation
    /// (inventory, plaintext scan, retention, audit chain, third-party consent, policy notice,
    /// …), clause by clause with its evidence; exits 1 when any check finds a violation.
    Compliance {
        /// Also write the report as a zh-CN HTML page to this file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// The tamper-evident audit log: verify it, or sign a checkpoint now.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Re-import a user's data export (`anjia-export.zip` from /account/export; PRV-24): creates
    /// the account for its phone number with nickname, avatar, saved searches, follows (of lots
    /// stored here) and notification settings. Consents are not imported: the user accepts the
    /// policy again at the first sign-in.
    ImportAccount {
        /// The export zip.
        #[arg(long)]
        file: PathBuf,
    },
    /// Key-encryption keys: rotate (re-wrapping every data key) and retire old versions.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Staff members and their privileged, audited actions.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Privacy requests and complaints (staff): list, read, answer or refuse, overdue check
    /// (`serve` runs the check every hour).
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
    /// Privacy-policy versions: publish a new one (users are told at once, at least 7 days
    /// before it takes effect), tell users of announced versions now, show the notice status.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Personal-information breach response (PIPL Art. 57): record an incident, send its notices.
    Breach {
        #[command(subcommand)]
        command: BreachCommand,
    },
    /// The development SMS gateway's outbox (the messages it would have sent).
    Sms {
        #[command(subcommand)]
        command: SmsCommand,
    },
    /// Saved-search alerts: run one pass now (the server runs one every 30 s).
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// The development e-mail gateway's outbox (the alerts it would have sent).
    Email {
        #[command(subcommand)]
        command: EmailCommand,
    },
    /// Value a CSV of properties in the Lianjia Beijing transaction layout (`id, Lng, Lat` BD-09,
    /// `square, livingRoom, … , district, tradeTime` as the as-of date) from the bundled market
    /// data; bad rows get the reason in the `error` column, the batch never stops for them.
    Valuate {
        /// Input CSV.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (`id, estimate_unit_price_yuan_m2, estimate_total_wan, low_unit_price,
        /// high_unit_price, comparables_used, method, error`).
        #[arg(long)]
        output: PathBuf,
    },
    /// Value every stored lot as its page does (market value, market discount, bargain score, or
    /// why not) into a CSV, and print the coverage.
    MarketValues {
        /// Output CSV.
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

#[derive(Subcommand)]
enum PolicyCommand {
    /// Publish a version file (format: crates/anjia-privacy/src/policy.rs). Refused when it would
    /// take effect less than 7 days from now; publishing the same file twice changes nothing.
    Publish {
        /// The version file (TOML).
        #[arg(long)]
        file: PathBuf,
        /// The admin publishing it (staff username).
        #[arg(long = "as")]
        staff: String,
    },
    /// Tell every account not yet told of an announced version (`serve` does this every minute).
    Notify,
    /// Per version after the first: notices sent, and accounts not told 7 days before effect;
    /// exit 1 when a notice period was not respected.
    Report,
}

#[derive(Subcommand)]
enum BreachCommand {
    /// Record an incident from a TOML file with the keys title, what_happened, started_at,
    /// ended_at (RFC 3339 strings), categories (inventory categories), cause, possible_harm,
    /// remedies, user_actions, contact and optionally public_notice = true. Prints its id.
    Record {
        /// The incident file.
        #[arg(long)]
        file: PathBuf,
        /// The admin recording it (staff username).
        #[arg(long = "as")]
        staff: String,
    },
    /// Compute the affected accounts and send the notices (message centre; SMS/e-mail where
    /// consented); a public notice at /notices/ID when visitors are affected or it was asked for.
    Notify {
        /// The incident id.
        id: i64,
        /// The admin sending them (staff username).
        #[arg(long = "as")]
        staff: String,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Run every rule now and print, per table, the cutoff and the rows deleted.
    Run {
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Open tickets, oldest due first (no request text).
    List {
        /// Only open tickets past their due date.
        #[arg(long)]
        overdue: bool,
        /// Closed tickets too.
        #[arg(long, conflicts_with = "overdue")]
        all: bool,
    },
    /// One ticket with the requester's text (role customer_service, or moderator for objections).
    Show {
        /// Ticket id.
        id: i64,
        /// The staff member acting.
        #[arg(long = "as")]
        staff: String,
        /// Show the contact number in full, for this purpose (audited).
        #[arg(long)]
        unmask_contact: Option<String>,
    },
    /// Answer a ticket, or refuse it with a reason; the text reaches the requester's message
    /// centre. An accepted objection about a lot can withdraw (--suppress) or mask (--mask) it.
    Answer {
        /// Ticket id.
        id: i64,
        /// The staff member acting.
        #[arg(long = "as")]
        staff: String,
        /// The answer.
        #[arg(long, required_unless_present = "refuse", conflicts_with = "refuse")]
        answer: Option<String>,
        /// Refuse, with this reason.
        #[arg(long)]
        refuse: Option<String>,
        /// Withdraw the lot's asset from pages, search and the API (objections; role moderator).
        #[arg(long, conflicts_with_all = ["mask", "refuse"])]
        suppress: bool,
        /// Show the lot's asset masked (objections; role moderator).
        #[arg(long, conflicts_with = "refuse")]
        mask: bool,
    },
    /// Record and print an alert for every open ticket past due (each ticket once).
    CheckOverdue,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the whole audit log (hash chain and signed checkpoints); exit code 1 on tampering.
    Verify,
    /// Sign and store a checkpoint of the newest entry (e.g. before a backup).
    Checkpoint,
}

#[derive(Subcommand)]
enum AlertsCommand {
    /// One pass: starting-soon scan, matching of pending change events, delivery of due
    /// notifications, daily digest; prints the counts.
    Run,
}

#[derive(Subcommand)]
enum EmailCommand {
    /// Print the latest messages written for an address, newest first.
    Outbox {
        /// The e-mail address.
        #[arg(long)]
        to: String,
        /// How many messages to print.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum SmsCommand {
    /// Print the latest messages written for a number, newest first (sign in on a development
    /// server with the code printed here).
    Outbox {
        /// The mobile number (+86, spaces and dashes are fine).
        #[arg(long)]
        phone: String,
        /// How many messages to print.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new key-encryption key, make it current and re-wrap every data key (no downtime).
    Rotate,
    /// Remove an old key-encryption key version from the key file once nothing uses it.
    RetireKek {
        /// The KEK version to remove.
        version: u32,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member with a role: admin, customer_service, moderator, auditor.
    Add {
        /// Login name (a-z, 0-9, '_', '.', '-').
        username: String,
        /// Role.
        #[arg(long)]
        role: String,
    },
    /// Show one sealed field unmasked, with a stated purpose (audited); the role must allow it.
    Unmask {
        /// The staff member acting.
        #[arg(long = "as")]
        staff: String,
        /// Category: phone, real_name, id_number, address.
        #[arg(long)]
        field: String,
        /// The subject id (32 hex) the value belongs to.
        #[arg(long)]
        subject: String,
        /// Why (at least 4 characters); written to the audit log.
        #[arg(long)]
        purpose: String,
        /// Where the value is stored: TABLE.COLUMN.
        #[arg(long)]
        context: String,
        /// The sealed value, hex.
        #[arg(long)]
        sealed: String,
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
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("anjia: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a command; `Ok(false)` means "completed, but the answer is a failure" (exit code 1).
async fn run(cmd: Command, cfg: config::Config) -> anyhow::Result<bool> {
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cmd {
        Command::Serve => {
            let started = std::time::Instant::now();
            anjia::privacy::check_storage(&cfg)?;
            // The market index (valuations, lot market values) loads in the background while
            // storage and the search index are prepared.
            anjia_web::valuation::warm();
            // Linked-login providers are checked before anything is opened: a misconfigured
            // provider (unknown id, bad URL, missing secret variable) refuses to start.
            let oauth = anjia_web::accounts::oauth::OAuthProviders::new(
                cfg.oauth_providers(|k| std::env::var(k).ok())?,
                &anjia_privacy::third_party::ThirdPartyRegistry::bundled()?,
            )?;
            let (store, index) = anjia::prepare(&cfg, tty).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, true).await?;
            let listener = tokio::net::TcpListener::bind(&cfg.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
            let addr = listener.local_addr()?;
            tracing::info!(
                %addr, lots = index.num_docs(), ready_after_ms = started.elapsed().as_millis() as u64,
                "serving http://{addr}/"
            );
            let accounts = anjia::accounts_for(&cfg, &privacy);
            let alerts = anjia::alerts_for(&cfg, &privacy);
            // The alerts pass (starting-soon scan, matching, delivery, digest) every 30 s.
            let background = alerts.spawn(anjia_web::alerts::DEFAULT_INTERVAL);
            // The retention job every hour (PRV-22); counts only in the log, never rows.
            let retention = {
                let store = store.clone();
                let privacy = privacy.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
                    loop {
                        tick.tick().await;
                        let now = privacy.now();
                        match store.apply_retention(now, false).await {
                            Ok(o) => {
                                let rows: u64 = o.iter().map(|x| x.rows).sum();
                                tracing::info!(rows, "retention pass");
                            }
                            Err(e) => tracing::warn!(error = %e, "retention pass failed"),
                        }
                        // Security logs: at most twelve months (PRV-21).
                        match privacy.prune_audit(now, false).await {
                            Ok(Some((through, entries))) => {
                                tracing::info!(through, entries, "audit log pruned");
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "audit pruning failed"),
                        }
                    }
                })
            };
            // The privacy-request overdue check every hour (PRV-28); ids and dates in the log.
            let overdue = anjia::tickets::spawn_overdue_check(privacy.clone());
            // Policy-change notices every minute (PRV-09): accounts created during a notice
            // period are told too, and versions published by `anjia policy publish` are loaded.
            let notices = anjia_web::notices::spawn_policy_notices(
                privacy.clone(),
                std::time::Duration::from_secs(60),
            );
            let state = anjia_web::AppState::new(store, index, privacy)
                .with_accounts(accounts)
                .with_alerts(alerts)
                .with_oauth(oauth);
            let served = anjia_web::serve(listener, state, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            background.abort();
            retention.abort();
            overdue.abort();
            notices.abort();
            served?;
        }
        Command::Migrate => {
            let store = anjia::open_store(&cfg).await?;
            anjia::privacy::open_privacy(&cfg, &store, true).await?;
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
        Command::MarketValues { output } => {
            let started = std::time::Instant::now();
            let store = anjia::open_store(&cfg).await?;
            let r = anjia::market_values(&store, &output).await?;
            let estimated: u64 = r.estimated.values().sum();
            println!(
                "{estimated} of {} lots valued in {:.1} s (market data load included); wrote {}",
                r.lots,
                started.elapsed().as_secs_f64(),
                output.display()
            );
            for (method, n) in &r.estimated {
                println!("  estimated · {method}: {n}");
            }
            for (reason, n) in &r.not_enough_data {
                println!("  not enough data · {n}: {reason}");
            }
        }
        Command::Valuate { input, output } => {
            let started = std::time::Instant::now();
            let market = anjia_valuation::MarketIndex::bundled()?;
            let s = anjia::valuate::valuate_file(&market, &input, &output, tty)?;
            println!(
                "valued {} of {} rows ({} with errors) in {:.1} s; wrote {}",
                s.valued,
                s.rows,
                s.errors,
                started.elapsed().as_secs_f64(),
                output.display()
            );
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
        Command::Sms {
            command: SmsCommand::Outbox { phone, limit },
        } => {
            let Ok(phone) = anjia_privacy::pi::Phone::parse(&phone) else {
                anyhow::bail!(
                    "--phone must be a mainland mobile number (11 digits starting with 1)"
                );
            };
            let store = anjia::open_store(&cfg).await?;
            let keys = anjia::privacy::load_keys(&cfg, false)?;
            let index = keys.blind_index().phone(&phone);
            let messages = store.sms_outbox_for(&index).await?;
            if messages.is_empty() {
                println!(
                    "no messages for {} in the development outbox",
                    phone.masked()
                );
            }
            for (_, body, at) in messages.into_iter().take(limit) {
                println!("{}  {body}", anjia_domain::china_time::format_shanghai(at));
            }
        }
        Command::Alerts {
            command: AlertsCommand::Run,
        } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            let report = anjia::alerts_for(&cfg, &privacy).run_once().await?;
            println!("{report}");
        }
        Command::Email {
            command: EmailCommand::Outbox { to, limit },
        } => {
            let Ok(to) = anjia_privacy::pi::Email::parse(&to) else {
                anyhow::bail!("--to must be an e-mail address (name@example.com)");
            };
            let store = anjia::open_store(&cfg).await?;
            let keys = anjia::privacy::load_keys(&cfg, false)?;
            let index = keys.blind_index().email(&to);
            let messages = store.email_outbox_for(&index).await?;
            if messages.is_empty() {
                println!("no messages for {to:?} in the development outbox");
            }
            for m in messages.into_iter().take(limit) {
                println!(
                    "{}  {}\n{}\n",
                    anjia_domain::china_time::format_shanghai(m.created_at),
                    m.subject,
                    m.body
                );
            }
        }
        Command::Export { output } => {
            let store = anjia::open_store(&cfg).await?;
            let n = anjia::export(&store, &output).await?;
            println!("exported {n} lots to {}", output.display());
        }
        Command::Retention {
            command: RetentionCommand::Run { dry_run },
        } => {
            let store = anjia::open_store(&cfg).await?;
            let now = time::OffsetDateTime::now_utc();
            let outcomes = store.apply_retention(now, dry_run).await?;
            println!(
                "{}",
                if dry_run {
                    "retention (dry run: nothing deleted; times Asia/Shanghai)"
                } else {
                    "retention (times Asia/Shanghai)"
                }
            );
            for o in &outcomes {
                println!(
                    "  {:<18} {:>8} {}  (before {}; {})",
                    o.rule.table,
                    o.rows,
                    if dry_run { "would go" } else { "deleted" },
                    anjia_domain::china_time::format_shanghai(o.cutoff),
                    o.rule.description
                );
            }
            // The audit log (security log): entries older than twelve months, through a signed
            // checkpoint (PRV-21). A dry run needs no keys; a run signs the pruning record.
            let pruned = if dry_run {
                anjia_web::privacy::audit_prune_due(&store, now)
                    .await?
                    .map(|(e, n)| (e.seq, n))
            } else {
                let privacy = anjia::privacy::open_privacy(&cfg, &store, true).await?;
                privacy.prune_audit(now, false).await?
            };
            let (through, n) = pruned.map_or((String::from("-"), 0), |(s, n)| (s.to_string(), n));
            println!(
                "  {:<18} {:>8} {}  (through checkpoint seq {through}; entries older than 12 months, kept at least 6)",
                "audit_log",
                n,
                if dry_run { "would go" } else { "deleted" },
            );
        }
        Command::Compliance { html } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            let report = anjia_web::compliance::run(&privacy).await?;
            print!("{}", report.to_text());
            if let Some(path) = html {
                std::fs::write(&path, report.to_html()?)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("HTML report written to {}", path.display());
            }
            return Ok(report.passed());
        }
        Command::Tickets { command } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            let out = match command {
                TicketsCommand::List { overdue, all } => {
                    anjia::tickets::list(&privacy, overdue, all).await?
                }
                TicketsCommand::Show {
                    id,
                    staff,
                    unmask_contact,
                } => anjia::tickets::show(&privacy, &staff, id, unmask_contact.as_deref()).await?,
                TicketsCommand::Answer {
                    id,
                    staff,
                    answer,
                    refuse,
                    suppress,
                    mask,
                } => {
                    let outcome = match (&answer, &refuse) {
                        (_, Some(r)) => anjia_web::tickets::Outcome::Refuse(r),
                        (Some(a), None) => anjia_web::tickets::Outcome::Answer(a),
                        (None, None) => anyhow::bail!("give --answer TEXT or --refuse REASON"),
                    };
                    let action = if suppress {
                        Some(anjia_web::tickets::ListingAction::Suppress)
                    } else if mask {
                        Some(anjia_web::tickets::ListingAction::Mask)
                    } else {
                        None
                    };
                    // The search index changes only when a lot is withdrawn or masked; a plain
                    // answer must not need the running server's index lock (newcomer finding).
                    let index = if action.is_some() {
                        anjia::open_index(&cfg)?
                    } else {
                        anjia_search::SearchIndex::in_ram()?
                    };
                    anjia::tickets::answer(&privacy, &index, &staff, id, outcome, action).await?
                }
                TicketsCommand::CheckOverdue => anjia::tickets::check_overdue(&privacy).await?,
            };
            println!("{}", out.trim_end());
        }
        Command::Audit { command } => {
            let store = anjia::open_store(&cfg).await?;
            match command {
                AuditCommand::Verify => {
                    let keys = anjia::privacy::load_keys(&cfg, false)?;
                    let r = anjia::privacy::audit_verify(&store, &keys).await?;
                    println!("{}", anjia::privacy::describe_verify(&r));
                    return Ok(r.is_ok());
                }
                AuditCommand::Checkpoint => {
                    let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
                    match privacy.checkpoint_now().await? {
                        Some(seq) => println!("signed checkpoint at seq {seq}"),
                        None => println!("the audit log is empty: nothing to checkpoint"),
                    }
                }
            }
        }
        Command::ImportAccount { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, true).await?;
            let accounts = anjia::accounts_for(&cfg, &privacy);
            let r = anjia_web::accounts::export::import_account(&accounts, &bytes).await?;
            println!(
                "imported account {}: {} saved searches, {} follows ({} of lots not stored here skipped), avatar {}, notification settings {}; consents are not imported: the user accepts the policy at the first sign-in",
                r.account_id,
                r.saved_searches,
                r.follows,
                r.follows_skipped,
                if r.avatar { "restored" } else { "none" },
                if r.settings { "restored" } else { "default" },
            );
        }
        Command::Keys { command } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            match command {
                KeysCommand::Rotate => {
                    let r = anjia::privacy::rotate_keys(&cfg, &privacy).await?;
                    println!(
                        "KEK version {} is current; {} of {} data keys re-wrapped. Retire the old version with `anjia keys retire-kek N`.",
                        r.kek_version, r.rewrapped, r.scanned
                    );
                }
                KeysCommand::RetireKek { version } => {
                    anjia::privacy::retire_kek(&cfg, &privacy, version).await?;
                    println!(
                        "KEK version {version} removed from {}",
                        cfg.keys_file.display()
                    );
                }
            }
        }
        Command::Policy { command } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            match command {
                PolicyCommand::Publish { file, staff } => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                    let o = privacy.publish_policy_version(&text, Some(&staff)).await?;
                    println!(
                        "policy {} (sha256 {}) {}; takes effect {} (Asia/Shanghai); {} accounts told now",
                        o.version,
                        o.sha256,
                        if o.newly_published {
                            "published"
                        } else {
                            "was already published"
                        },
                        anjia_domain::china_time::format_shanghai(o.effective_at),
                        o.notified
                    );
                }
                PolicyCommand::Notify => {
                    let n = privacy.notify_policy_changes().await?;
                    println!("{n} accounts told of announced policy versions");
                }
                PolicyCommand::Report => {
                    let mut ok = true;
                    for s in privacy.policy_notice_report().await? {
                        ok &= !s.violated;
                        println!(
                            "{} effective {} (notices due by {}): {} accounts told, {} not told in time — {}",
                            s.version,
                            anjia_domain::china_time::format_shanghai(s.effective_at),
                            anjia_domain::china_time::format_shanghai(s.deadline),
                            s.accounts_notified,
                            s.accounts_not_told_in_time,
                            if s.violated {
                                "VIOLATED (changes.notice)"
                            } else {
                                "ok"
                            }
                        );
                    }
                    return Ok(ok);
                }
            }
        }
        Command::Breach { command } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            match command {
                BreachCommand::Record { file, staff } => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                    let input: anjia_web::notices::IncidentInput = toml::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    let id = privacy.record_incident(&staff, &input).await?;
                    println!(
                        "incident {id} recorded; send its notices with `anjia breach notify {id} --as {staff}`"
                    );
                }
                BreachCommand::Notify { id, staff } => {
                    let r = privacy.notify_breach(&staff, id).await?;
                    println!(
                        "incident {id}: {} accounts affected, {} told now, {} visitors affected; public notice: {}",
                        r.affected,
                        r.notified,
                        r.visitors,
                        if r.public_notice {
                            format!("/notices/{id}")
                        } else {
                            "none".into()
                        }
                    );
                }
            }
        }
        Command::Staff { command } => {
            let store = anjia::open_store(&cfg).await?;
            let privacy = anjia::privacy::open_privacy(&cfg, &store, false).await?;
            match command {
                StaffCommand::Add { username, role } => {
                    let Some(r) = anjia_privacy::roles::StaffRole::parse(&role) else {
                        anyhow::bail!(
                            "unknown role {role:?}; roles: admin, customer_service, moderator, auditor"
                        );
                    };
                    let row = privacy.add_staff(&username, r).await?;
                    println!("added {} ({}) as {}", row.username, row.id, row.role);
                }
                StaffCommand::Unmask {
                    staff,
                    field,
                    subject,
                    purpose,
                    context,
                    sealed,
                } => {
                    use anjia_privacy::roles::UnmaskCategory;
                    let category = match field.as_str() {
                        "phone" => UnmaskCategory::Phone,
                        "real_name" => UnmaskCategory::RealName,
                        "id_number" => UnmaskCategory::IdNumber,
                        "address" => UnmaskCategory::Address,
                        _ => anyhow::bail!(
                            "unknown field {field:?}; fields: phone, real_name, id_number, address"
                        ),
                    };
                    let Some(subject) = anjia_web::privacy::SubjectId::parse(&subject) else {
                        anyhow::bail!(
                            "--subject must be a subject id of 32 lowercase hex characters"
                        );
                    };
                    let (table, column) = anjia::privacy::parse_context(&context)?;
                    let bytes = hex::decode(sealed.trim())
                        .map_err(|_| anyhow::anyhow!("--sealed must be hex"))?;
                    let plain = privacy
                        .unmask_sealed(
                            &staff,
                            category,
                            &subject,
                            &purpose,
                            (&table, &column),
                            &bytes,
                        )
                        .await?;
                    let masked = anjia_privacy::mask::mask(
                        match category {
                            UnmaskCategory::Phone => anjia_privacy::mask::PiCategory::Phone,
                            UnmaskCategory::RealName => anjia_privacy::mask::PiCategory::RealName,
                            UnmaskCategory::IdNumber => anjia_privacy::mask::PiCategory::IdNumber,
                            UnmaskCategory::Address => anjia_privacy::mask::PiCategory::Address,
                        },
                        &plain,
                    );
                    println!("{masked} → {}", plain.as_str());
                }
            }
        }
    }
    Ok(true)
}
