//! `anjia tickets`: staff work on privacy requests and complaints (PRIVACY.md PRV-28, PRV-37) —
//! list, read, answer or refuse, and the overdue check that `serve` runs hourly. The rules are
//! `anjia_web::tickets`; this module prints. Nothing printed or logged carries the requester's
//! text or number unless staff asked to read that ticket.

use anjia_domain::china_time::format_shanghai;
use anjia_web::Privacy;
use anjia_web::tickets::{self, ListingAction, Outcome, RequestStatus};
use std::fmt::Write as _;

/// How often `serve` runs the overdue check.
pub const OVERDUE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The staff list (`anjia tickets list [--overdue] [--all]`): one line per ticket — id, kind,
/// status, received, due date (with `OVERDUE` past it), lot, masked contact. No request text.
///
/// # Errors
/// Storage errors.
pub async fn list(privacy: &Privacy, overdue_only: bool, all: bool) -> anyhow::Result<String> {
    let rows = tickets::staff_list(privacy, overdue_only, all).await?;
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str(if overdue_only {
            "no open privacy requests past due\n"
        } else {
            "no privacy requests\n"
        });
    }
    for v in rows {
        let r = &v.row;
        let _ = writeln!(
            out,
            "#{:<5} {:<10} {:<8} received {}  due {}{}{}{}{}",
            r.id,
            r.kind.as_str(),
            r.status.as_str(),
            format_shanghai(r.received_at),
            r.due_on,
            if v.overdue { "  OVERDUE" } else { "" },
            r.posting_id
                .map(|p| format!("  lot {p}"))
                .unwrap_or_default(),
            if r.account_id.is_some() {
                "  account".to_string()
            } else {
                "  no account".to_string()
            },
            v.contact_masked
                .map(|c| format!("  contact {c}"))
                .unwrap_or_default(),
        );
    }
    Ok(out)
}

/// One ticket in full for staff (`anjia tickets show ID --as STAFF [--unmask-contact PURPOSE]`).
///
/// # Errors
/// Role, unknown ticket or staff, storage errors.
pub async fn show(
    privacy: &Privacy,
    staff: &str,
    id: i64,
    unmask_purpose: Option<&str>,
) -> anyhow::Result<String> {
    let r = tickets::staff_read(privacy, staff, id, unmask_purpose).await?;
    let row = &r.row;
    let mut out = format!(
        "#{} {} ({}) — {}\nreceived {}, due {}\n",
        row.id,
        row.kind.as_str(),
        tickets::kind_zh(row.kind),
        row.status.as_str(),
        format_shanghai(row.received_at),
        row.due_on
    );
    if let Some(p) = row.posting_id {
        let _ = writeln!(out, "lot {p} (/lots/{p})");
    }
    match &r.details {
        Some(d) => {
            let _ = writeln!(out, "text:\n{d}");
        }
        None => out.push_str("text: unreadable (the ticket's key was shredded when it closed)\n"),
    }
    if let Some(c) = &r.contact {
        let _ = writeln!(out, "contact: {c}");
    }
    if let Some(o) = &row.outcome {
        let _ = writeln!(
            out,
            "{}: {o}",
            if row.status == RequestStatus::Refused {
                "refused, reason"
            } else {
                "answer"
            }
        );
    }
    Ok(out)
}

/// Answers or refuses a ticket (`anjia tickets answer ID --as STAFF --answer TEXT | --refuse
/// REASON [--suppress | --mask]`), updating the search index for a listing action.
///
/// # Errors
/// Refusals of [`tickets::close`], storage and index errors.
pub async fn answer(
    privacy: &Privacy,
    index: &anjia_search::SearchIndex,
    staff: &str,
    id: i64,
    outcome: Outcome<'_>,
    action: Option<ListingAction>,
) -> anyhow::Result<String> {
    let c = tickets::close(privacy, index, staff, id, outcome, action).await?;
    let mut out = format!("ticket #{} {}", c.row.id, c.row.status.as_str());
    if let Some(a) = c.row.listing_action {
        let _ = write!(
            out,
            "; lot {} {} ({} postings of its asset)",
            c.row.posting_id.unwrap_or_default(),
            match a {
                ListingAction::Suppress => "withdrawn",
                ListingAction::Mask => "masked",
            },
            c.postings_changed
        );
    }
    if c.message_id.is_some() {
        out.push_str("; the answer is in the requester's message centre");
    } else {
        out.push_str("; no account: the requester reads it with the receipt code, and the ticket's key is shredded");
    }
    Ok(out)
}

/// The overdue check (`anjia tickets check-overdue`; `serve` runs it hourly): one line per
/// ticket alerted now (each ticket once), without PI.
///
/// # Errors
/// Storage errors.
pub async fn check_overdue(privacy: &Privacy) -> anyhow::Result<String> {
    let alerts = tickets::check_overdue(privacy).await?;
    let mut out = format!("{} privacy request(s) newly overdue\n", alerts.len());
    for a in alerts {
        let _ = writeln!(
            out,
            "OVERDUE #{} {} due {}",
            a.id,
            a.kind.as_str(),
            a.due_on
        );
    }
    Ok(out)
}

/// Starts the hourly overdue check of `serve` (the alerts go to the log: id, kind, due date).
pub fn spawn_overdue_check(privacy: Privacy) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(OVERDUE_CHECK_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = tickets::check_overdue(&privacy).await {
                tracing::warn!(error = %e, "privacy-request overdue check failed");
            }
        }
    })
}
