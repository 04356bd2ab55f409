//! Privacy requests and complaints (issue 5 item 6; PRIVACY.md PRV-28) and objections by people
//! named in imported court listings (PRV-37).
//!
//! * **Filing** ([`file`]): a request not served at once — access, correction, deletion, objection,
//!   complaint (个人信息保护法 Arts. 44–47 and 50; withdrawing consent is instant on
//!   `/privacy/consent` and needs no ticket) — becomes a ticket. A signed-in user's ticket belongs
//!   to the account and is answered in its message centre. Without an account only an objection
//!   about a lot can be filed (a person named in a court listing need not sign up): the ticket gets
//!   a visitor subject of its own, whose data key seals the text and the optional contact number,
//!   and a receipt code (shown once; only its SHA-256 is stored) to look the answer up.
//! * **Due date** ([`due_on`]): `WorkCalendar::privacy_request_due` of the received date in
//!   Asia/Shanghai — min(30 days, 15 working days) on the bundled working-day calendar (privacy
//!   policy §8, clause `contact.response`).
//! * **Staff** act through the CLI (`anjia tickets`): [`staff_list`], [`close`] — an answer, or a
//!   refusal with its reason; audited as `privacy_request_closed`; the text reaches the
//!   requester's message centre. Closing a ticket without an account shreds its data key, so the
//!   contact number and the text become unreadable at once (minimisation).
//! * **Overdue alerts** ([`check_overdue`]): every open ticket past its due date is alerted once
//!   (stored as `overdue_alerted_at`, logged with id, kind and due date only — no PI); `serve`
//!   runs the check hourly, `anjia tickets check-overdue` on demand.
//! * **Objections to court listings** (PRV-37): names detected in titles are masked at import
//!   (`anjia_ingest::names`); an accepted objection goes further for the lot's asset (every round
//!   and platform): [`ListingAction::Suppress`] withdraws it (the lot pages answer 410, it leaves
//!   search, the API and the index) and [`ListingAction::Mask`] keeps it with the title and
//!   address cut to the administrative part and no link to the source page ([`mask_posting`]).

pub mod web;

use crate::privacy::{PrivacyError, SubjectId, SubjectKind};
use crate::{AppState, Privacy};
use anjia_domain::Posting;
use anjia_domain::china_time::SHANGHAI;
use anjia_domain::workdays::WorkCalendar;
use anjia_privacy::audit::{Actor, AuditEvent, AuditKind};
use anjia_privacy::pi::Phone;
use anjia_privacy::roles::Capability;
use anjia_search::SearchIndex;
use anjia_store::alerts::{MessageCategory, NewMessage};
use anjia_store::{CloseRequest, NewPrivacyRequest, StoreError};
pub use anjia_store::{ListingAction, PrivacyRequestRow, RequestKind, RequestStatus};
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

/// Longest request text, characters (Unicode scalar values).
pub const MAX_DETAILS_CHARS: usize = 2000;
/// Longest answer or refusal reason, characters (the database checks it too).
pub const MAX_OUTCOME_CHARS: usize = 2000;
/// Table and column of the sealed request text (the AAD of its ciphertext).
pub const DETAILS_FIELD: (&str, &str) = ("privacy_requests", "details_ciphertext");
/// Table and column of the sealed contact number.
pub const CONTACT_FIELD: (&str, &str) = ("privacy_requests", "contact_ciphertext");

/// Why a request, answer or staff action was refused. Each names the field (for the API's
/// `parameter`) and never repeats a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// `kind` is not one of [`RequestKind::ALL`].
    #[error(
        "unknown kind; expected access, correction, deletion, objection or complaint (withdrawing consent needs no request: /privacy/consent)"
    )]
    UnknownKind,
    /// The text is empty (after trimming).
    #[error("the request text is empty; say what you are asking for")]
    EmptyDetails,
    /// The text is longer than [`MAX_DETAILS_CHARS`].
    #[error("the request text is longer than {MAX_DETAILS_CHARS} characters")]
    DetailsTooLong,
    /// `lot_id` is not a positive whole number.
    #[error("expected a lot id (a positive whole number)")]
    BadLotId,
    /// No lot has this id.
    #[error("no lot with this id")]
    NoSuchLot,
    /// Without an account only an objection about a lot can be filed.
    #[error(
        "without an account only an objection about a lot (kind `objection` with `lot_id`) can be filed; sign in for other requests"
    )]
    SignInRequired,
    /// The contact number is not a mainland mobile number.
    #[error("expected a mainland mobile number (11 digits starting with 1)")]
    BadContact,
    /// A signed-in request carries a contact number (answers go to the message centre).
    #[error(
        "a contact number is not needed when signed in: the answer goes to your message centre"
    )]
    ContactNotNeeded,
    /// An answer or refusal without text.
    #[error("an answer or a refusal needs its text (a refusal its reason)")]
    EmptyOutcome,
    /// An answer or refusal longer than [`MAX_OUTCOME_CHARS`].
    #[error("the answer is longer than {MAX_OUTCOME_CHARS} characters")]
    OutcomeTooLong,
    /// No ticket with this id.
    #[error("no ticket with this id")]
    NoSuchTicket,
    /// The ticket is answered or refused already.
    #[error("the ticket is closed already")]
    AlreadyClosed,
    /// A listing action on a ticket that is not an objection naming a lot, or on a refusal.
    #[error("a listing action needs an objection about a lot that is being answered (not refused)")]
    ListingActionNotApplicable,
    /// The staff member's role does not hold the capability.
    #[error("the role {role} may not do this (needs {capability})")]
    Role {
        /// The role.
        role: &'static str,
        /// The capability missing.
        capability: &'static str,
    },
}

impl TicketError {
    /// The field at fault (API `parameter`), if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            TicketError::UnknownKind => Some("kind"),
            TicketError::EmptyDetails | TicketError::DetailsTooLong => Some("details"),
            TicketError::BadLotId | TicketError::NoSuchLot => Some("lot_id"),
            TicketError::BadContact | TicketError::ContactNotNeeded => Some("contact_phone"),
            TicketError::SignInRequired => Some("kind"),
            _ => None,
        }
    }

    /// The message in Chinese (pages).
    pub fn zh(&self) -> String {
        match self {
            TicketError::UnknownKind => "请选择请求类型：查阅复制、更正、删除、异议或投诉（撤回同意无需申请，可在隐私设置中立即操作）。".into(),
            TicketError::EmptyDetails => "请填写请求内容，说明您希望我们做什么。".into(),
            TicketError::DetailsTooLong => format!("请求内容不能超过 {MAX_DETAILS_CHARS} 个字。"),
            TicketError::BadLotId => "标的编号应为正整数，例如 257。".into(),
            TicketError::NoSuchLot => "没有这个编号的标的，请核对后重试。".into(),
            TicketError::SignInRequired => "未登录时只能对某个标的提出异议（法院拍卖公告中被提及的人员）；其他请求请先登录。".into(),
            TicketError::BadContact => "联系电话应为 11 位中国大陆手机号码。".into(),
            TicketError::ContactNotNeeded => "已登录时无需填写联系电话，答复会发送到您的消息中心。".into(),
            other => other.to_string(),
        }
    }
}

/// What a user files.
#[derive(Debug, Clone, Default)]
pub struct Filing {
    /// The kind as sent (`access`, `correction`, `deletion`, `objection`, `complaint`).
    pub kind: String,
    /// The request text.
    pub details: String,
    /// The lot concerned (posting id as sent), if any.
    pub lot_id: Option<String>,
    /// A contact mobile number (without an account only; optional).
    pub contact_phone: Option<String>,
}

/// A filed ticket.
#[derive(Debug, Clone)]
pub struct Filed {
    /// Ticket id.
    pub id: i64,
    /// The kind.
    pub kind: RequestKind,
    /// When it was received (UTC).
    pub received_at: OffsetDateTime,
    /// Due date (Asia/Shanghai).
    pub due_on: Date,
    /// The receipt code of a ticket without an account (shown once, never stored).
    pub receipt: Option<String>,
}

/// The Asia/Shanghai calendar date of an instant.
pub fn shanghai_date(t: OffsetDateTime) -> Date {
    t.to_offset(SHANGHAI).date()
}

/// The due date of a request received at `received`: min(30 days, 15 working days) after its
/// Asia/Shanghai date ([`WorkCalendar::privacy_request_due`], bundled calendar).
pub fn due_on(received: OffsetDateTime) -> Date {
    WorkCalendar::bundled().privacy_request_due(shanghai_date(received))
}

/// SHA-256 (hex) of a receipt code as stored.
pub fn receipt_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// The Chinese name of a kind.
pub fn kind_zh(k: RequestKind) -> &'static str {
    match k {
        RequestKind::Access => "查阅、复制",
        RequestKind::Correction => "更正、补充",
        RequestKind::Deletion => "删除",
        RequestKind::Objection => "异议（拒绝或限制处理）",
        RequestKind::Complaint => "投诉",
    }
}

/// The Chinese name of a status.
pub fn status_zh(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Open => "处理中",
        RequestStatus::Answered => "已答复",
        RequestStatus::Refused => "不予办理（附理由）",
    }
}

/// Errors of the ticket operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input or the action was refused.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// A privacy mechanism failed (keys, audit, unknown staff member).
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The search index failed.
    #[error(transparent)]
    Search(#[from] anjia_search::SearchError),
}

impl From<Error> for crate::error::AppError {
    fn from(e: Error) -> Self {
        use crate::error::AppError;
        match e {
            Error::Ticket(t) => match (t.field(), &t) {
                (_, TicketError::NoSuchTicket) => AppError::NotFound(t.to_string()),
                (_, TicketError::SignInRequired) => AppError::Forbidden(t.to_string()),
                (Some(f), _) => AppError::BadParam(crate::params::BadParam {
                    param: f.into(),
                    reason: t.to_string(),
                }),
                (None, _) => AppError::BadBody(t.to_string()),
            },
            Error::Privacy(p) => AppError::Privacy(p),
            Error::Store(s) => AppError::Store(s),
            Error::Search(s) => AppError::Search(s),
        }
    }
}

/// Files a ticket for `account` (signed in) or, without one, an objection about a lot (see the
/// module docs). The time is the privacy service's clock.
///
/// # Errors
/// [`TicketError`]s for the input (kind, text, lot, contact); storage, key and audit errors.
pub async fn file(
    state: &AppState,
    account: Option<&SubjectId>,
    f: &Filing,
) -> Result<Filed, Error> {
    let kind = RequestKind::parse(f.kind.trim()).ok_or(TicketError::UnknownKind)?;
    let details = f.details.trim();
    if details.is_empty() {
        return Err(TicketError::EmptyDetails.into());
    }
    if details.chars().count() > MAX_DETAILS_CHARS {
        return Err(TicketError::DetailsTooLong.into());
    }
    let lot = match f.lot_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => {
            let id = raw
                .parse::<i64>()
                .ok()
                .filter(|i| *i > 0)
                .ok_or(TicketError::BadLotId)?;
            state
                .store
                .posting(id)
                .await?
                .ok_or(TicketError::NoSuchLot)?;
            Some(id)
        }
    };
    let contact = match f
        .contact_phone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(_) if account.is_some() => return Err(TicketError::ContactNotNeeded.into()),
        Some(raw) => Some(Phone::parse(raw).map_err(|_| TicketError::BadContact)?),
    };
    if account.is_none() && (kind != RequestKind::Objection || lot.is_none()) {
        return Err(TicketError::SignInRequired.into());
    }
    let privacy = &state.privacy;
    let now = privacy.now();
    let due = due_on(now);
    let (subject, receipt) = match account {
        Some(a) => (a.clone(), None),
        None => (
            privacy.new_subject(SubjectKind::Visitor).await?,
            Some(hex::encode(rand::random::<[u8; 16]>())),
        ),
    };
    let details_ct = privacy
        .seal_field(&subject, DETAILS_FIELD, details.as_bytes())
        .await?;
    let contact_ct = match &contact {
        Some(p) => Some(
            privacy
                .seal_field(&subject, CONTACT_FIELD, p.expose().as_bytes())
                .await?,
        ),
        None => None,
    };
    let hash = receipt.as_deref().map(receipt_hash);
    let id = state
        .store
        .insert_privacy_request(&NewPrivacyRequest {
            subject_id: subject.as_str(),
            account_id: account.map(SubjectId::as_str),
            kind,
            posting_id: lot,
            details_ciphertext: &details_ct,
            contact_ciphertext: contact_ct.as_deref(),
            receipt_hash: hash.as_deref(),
            received_at: now,
            due_on: due,
        })
        .await?;
    // Ids, kind and dates only: never the text, the number or the receipt code.
    tracing::info!(ticket = id, kind = kind.as_str(), due_on = %due, signed_in = account.is_some(), "privacy request filed");
    Ok(Filed {
        id,
        kind,
        received_at: now,
        due_on: due,
        receipt,
    })
}

/// One line of the staff list: no plaintext beyond the masked contact number.
#[derive(Debug, Clone)]
pub struct StaffView {
    /// The ticket.
    pub row: PrivacyRequestRow,
    /// Whether it is open and past due on the list's date.
    pub overdue: bool,
    /// The contact number masked (`138****1234`), for a ticket without an account; `None` when
    /// there is none or its key is shredded.
    pub contact_masked: Option<String>,
}

/// Tickets for staff, oldest due first: open ones, or with `overdue_only` the open ones past due
/// today (Asia/Shanghai, the service clock). `all` lists closed ones too.
///
/// # Errors
/// Storage errors.
pub async fn staff_list(
    privacy: &Privacy,
    overdue_only: bool,
    all: bool,
) -> Result<Vec<StaffView>, Error> {
    let today = shanghai_date(privacy.now());
    let rows = privacy
        .store()
        .privacy_requests(!all, overdue_only.then_some(today))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let contact_masked = match (&row.contact_ciphertext, SubjectId::parse(&row.subject_id)) {
            (Some(ct), Some(s)) => privacy
                .open_field(&s, CONTACT_FIELD, ct)
                .await
                .ok()
                .and_then(|p| Phone::parse(&p).ok())
                .map(|p| p.masked()),
            _ => None,
        };
        out.push(StaffView {
            overdue: row.status == RequestStatus::Open && row.due_on < today,
            row,
            contact_masked,
        });
    }
    Ok(out)
}

/// An answer or a refusal.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The answer (for an objection: accepted).
    Answer(&'a str),
    /// A refusal, with its reason (PRV-28: refusals need reasons).
    Refuse(&'a str),
}

/// What [`close`] did.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The ticket as closed.
    pub row: PrivacyRequestRow,
    /// The message-centre message id (signed-in requesters).
    pub message_id: Option<i64>,
    /// Postings taken out of (suppress) or re-masked in (mask) the search index.
    pub postings_changed: usize,
}

/// Answers or refuses ticket `id` as staff member `staff_username` (see the module docs):
/// checks the role (objections with a listing action need [`Capability::HandleTakedowns`], any
/// other answer [`Capability::HandlePrivacyRequests`], or `HandleTakedowns` for an objection),
/// closes the ticket (with the listing suppression in the same transaction), applies the listing
/// action to the search index, audits `privacy_request_closed`, writes the answer to the
/// requester's message centre, and shreds the data key of a ticket without an account.
///
/// # Errors
/// [`TicketError`] (empty or long text, unknown or closed ticket, action not applicable, role),
/// [`PrivacyError::UnknownStaff`], storage, index and audit errors.
pub async fn close(
    privacy: &Privacy,
    index: &SearchIndex,
    staff_username: &str,
    id: i64,
    outcome: Outcome<'_>,
    listing_action: Option<ListingAction>,
) -> Result<Closed, Error> {
    let (staff, role) = privacy.staff(staff_username).await?;
    let (status, text) = match outcome {
        Outcome::Answer(t) => (RequestStatus::Answered, t.trim()),
        Outcome::Refuse(t) => (RequestStatus::Refused, t.trim()),
    };
    if text.is_empty() {
        return Err(TicketError::EmptyOutcome.into());
    }
    if text.chars().count() > MAX_OUTCOME_CHARS {
        return Err(TicketError::OutcomeTooLong.into());
    }
    let store = privacy.store();
    let row = store
        .privacy_request(id)
        .await?
        .ok_or(TicketError::NoSuchTicket)?;
    if row.status != RequestStatus::Open {
        return Err(TicketError::AlreadyClosed.into());
    }
    if listing_action.is_some()
        && (row.kind != RequestKind::Objection
            || row.posting_id.is_none()
            || status != RequestStatus::Answered)
    {
        return Err(TicketError::ListingActionNotApplicable.into());
    }
    // A listing action is a takedown; a moderator may also answer an objection without one.
    let takedown = listing_action.is_some()
        || (row.kind == RequestKind::Objection && role.has(Capability::HandleTakedowns));
    let needed = if takedown {
        Capability::HandleTakedowns
    } else {
        Capability::HandlePrivacyRequests
    };
    if !role.has(needed) {
        return Err(TicketError::Role {
            role: role.as_str(),
            capability: capability_name(needed),
        }
        .into());
    }
    let now = privacy.now();
    if !store
        .close_privacy_request(
            id,
            &CloseRequest {
                status,
                outcome: text,
                listing_action,
                closed_by: &staff.id,
                now,
            },
        )
        .await?
    {
        return Err(TicketError::AlreadyClosed.into());
    }
    let mut postings_changed = 0;
    if let (Some(action), Some(posting_id)) = (listing_action, row.posting_id)
        && let Some(p) = store.posting(posting_id).await?
    {
        let postings = store.asset_postings(p.asset_id).await?;
        postings_changed = postings.len();
        apply_to_index(index, postings, action)?;
    }
    let subject = SubjectId::parse(&row.subject_id);
    let pseudonym = match &subject {
        Some(s) => privacy.pseudonym(s).await.ok(),
        None => None,
    };
    let mut event = AuditEvent::new(
        AuditKind::PrivacyRequestClosed,
        Actor::Staff(staff.id.clone()),
    )
    .details(serde_json::json!({
        "ticket": id,
        "kind": row.kind.as_str(),
        "outcome": status.as_str(),
        "listing_action": listing_action.map(ListingAction::as_str),
    }));
    if let Some(p) = pseudonym {
        event = event.subject(p);
    }
    privacy.audit(event).await?;
    let mut message_id = None;
    if let Some(account) = &row.account_id {
        let (title, lead) = match status {
            RequestStatus::Refused => (
                format!("您的个人信息请求（第 {id} 号）未予办理"),
                "我们对您的请求不予办理，理由如下：",
            ),
            _ => (
                format!("您的个人信息请求（第 {id} 号）已答复"),
                "我们对您的请求答复如下：",
            ),
        };
        let body = format!(
            "请求类型：{}\n受理日期：{}\n{lead}\n{text}\n\n如对处理结果有异议，可再次提交投诉（/privacy/requests）。",
            kind_zh(row.kind),
            shanghai_date(row.received_at),
        );
        message_id = Some(
            store
                .insert_system_message(
                    account,
                    MessageCategory::System,
                    &NewMessage {
                        title: &title,
                        body: &body,
                        link: Some("/account/privacy-requests"),
                    },
                    now,
                )
                .await?,
        );
    } else if let Some(s) = &subject {
        // No account: the text and the contact number were only needed to handle the request.
        match privacy.shred(s).await {
            Ok(_) | Err(PrivacyError::Shredded) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(
        ticket = id,
        kind = row.kind.as_str(),
        outcome = status.as_str(),
        "privacy request closed"
    );
    let row = store
        .privacy_request(id)
        .await?
        .ok_or(TicketError::NoSuchTicket)?;
    Ok(Closed {
        row,
        message_id,
        postings_changed,
    })
}

fn capability_name(c: Capability) -> &'static str {
    match c {
        Capability::HandleTakedowns => "handle_takedowns",
        Capability::HandlePrivacyRequests => "handle_privacy_requests",
        _ => "another capability",
    }
}

/// Removes suppressed postings from the index or replaces them by their masked form (a staff
/// action, rare: run inline).
fn apply_to_index(
    index: &SearchIndex,
    mut postings: Vec<Posting>,
    action: ListingAction,
) -> Result<(), Error> {
    match action {
        ListingAction::Suppress => {
            let ids: Vec<i64> = postings.iter().map(|p| p.id).collect();
            index.delete(&ids)?;
        }
        ListingAction::Mask => {
            let ids: Vec<i64> = postings.iter().map(|p| p.id).collect();
            index.delete(&ids)?;
            postings.iter_mut().for_each(mask_posting);
            index.upsert(&postings)?;
        }
    }
    Ok(())
}

/// The masked form of a lot after an accepted objection ([`ListingAction::Mask`]): the title
/// and the address become the address's administrative part (`anjia_domain::mask::mask_address`,
/// e.g. `佛山市南海区****`), the community and the link to the court's page (which names the
/// persons) are dropped. Prices, dates and areas stay.
pub fn mask_posting(p: &mut Posting) {
    let masked = anjia_domain::mask::mask_address(&p.data.address);
    p.data.title = format!("{masked}（应当事人请求已隐去详细信息）");
    p.data.address = masked;
    p.data.community = None;
    p.data.source_url = None;
}

/// Applies the stored suppressions to postings about to be indexed: suppressed ones are dropped,
/// masked ones masked ([`mask_posting`]). Used by reindexing and imports, so that a rebuilt index
/// keeps what objections removed.
pub fn apply_suppressions(
    postings: Vec<Posting>,
    suppressions: &std::collections::BTreeMap<i64, ListingAction>,
) -> Vec<Posting> {
    if suppressions.is_empty() {
        return postings;
    }
    postings
        .into_iter()
        .filter_map(|mut p| match suppressions.get(&p.asset_id) {
            Some(ListingAction::Suppress) => None,
            Some(ListingAction::Mask) => {
                mask_posting(&mut p);
                Some(p)
            }
            None => Some(p),
        })
        .collect()
}

/// An overdue alert: the ticket's id, kind and due date (no PI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueAlert {
    /// Ticket id.
    pub id: i64,
    /// Its kind.
    pub kind: RequestKind,
    /// Its due date (Asia/Shanghai).
    pub due_on: Date,
}

/// The overdue check (PRV-28): records an alert for every open ticket past due on today's
/// Asia/Shanghai date (service clock) that has none yet, logs each (id, kind, due date) for staff
/// and returns them. A ticket is alerted once, however often the check runs.
///
/// # Errors
/// Storage errors.
pub async fn check_overdue(privacy: &Privacy) -> Result<Vec<OverdueAlert>, Error> {
    let now = privacy.now();
    let store = privacy.store();
    let ids = store
        .mark_overdue_privacy_requests(shanghai_date(now), now)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = store.privacy_request(id).await? {
            tracing::warn!(ticket = id, kind = r.kind.as_str(), due_on = %r.due_on, "privacy request overdue: answer it with `anjia tickets answer`");
            out.push(OverdueAlert {
                id,
                kind: r.kind,
                due_on: r.due_on,
            });
        }
    }
    Ok(out)
}

/// A ticket as staff read it ([`staff_read`]).
#[derive(Debug, Clone)]
pub struct StaffRead {
    /// The ticket.
    pub row: PrivacyRequestRow,
    /// The requester's text; `None` once the ticket's key is shredded (closed, no account).
    pub details: Option<String>,
    /// The contact number: masked, or in full after an audited unmask with a purpose.
    pub contact: Option<String>,
}

/// Reads ticket `id` for staff member `staff_username`, whose role must handle privacy requests
/// (or, for an objection, takedowns). The contact number is masked unless `unmask_purpose` is
/// given: then it is unmasked through [`Privacy::unmask_sealed`] (role `customer_service`,
/// audited as `staff_unmask` with the purpose).
///
/// # Errors
/// [`TicketError::NoSuchTicket`], [`TicketError::Role`], [`PrivacyError::UnknownStaff`] and the
/// unmask errors (role, purpose), storage errors.
pub async fn staff_read(
    privacy: &Privacy,
    staff_username: &str,
    id: i64,
    unmask_purpose: Option<&str>,
) -> Result<StaffRead, Error> {
    let (_, role) = privacy.staff(staff_username).await?;
    let row = privacy
        .store()
        .privacy_request(id)
        .await?
        .ok_or(TicketError::NoSuchTicket)?;
    let allowed = role.has(Capability::HandlePrivacyRequests)
        || (row.kind == RequestKind::Objection && role.has(Capability::HandleTakedowns));
    if !allowed {
        return Err(TicketError::Role {
            role: role.as_str(),
            capability: capability_name(Capability::HandlePrivacyRequests),
        }
        .into());
    }
    let subject = SubjectId::parse(&row.subject_id);
    let details = match &subject {
        Some(s) => privacy
            .open_field(s, DETAILS_FIELD, &row.details_ciphertext)
            .await
            .ok()
            .map(|z| z.as_str().to_string()),
        None => None,
    };
    let contact = match (&row.contact_ciphertext, &subject, unmask_purpose) {
        (Some(ct), Some(s), Some(purpose)) => Some(
            privacy
                .unmask_sealed(
                    staff_username,
                    anjia_privacy::roles::UnmaskCategory::Phone,
                    s,
                    purpose,
                    CONTACT_FIELD,
                    ct,
                )
                .await?
                .as_str()
                .to_string(),
        ),
        (Some(ct), Some(s), None) => privacy
            .open_field(s, CONTACT_FIELD, ct)
            .await
            .ok()
            .and_then(|p| Phone::parse(&p).ok())
            .map(|p| p.masked()),
        _ => None,
    };
    Ok(StaffRead {
        row,
        details,
        contact,
    })
}
