//! Staff roles, capabilities, unmasking with a stated purpose, and two-person bulk-export approval
//! (PRV-14, PRV-31; PIPL 2021 Art. 51(3) "合理确定个人信息处理的操作权限", GB/T 35273-2020 §7.1 access
//! control: least privilege, separation of duties, recorded unmasking of displayed PI).
//!
//! # The matrix and why
//! | role | capabilities | why |
//! |---|---|---|
//! | `admin` | ViewMaskedUser, ManageStaff, ManageKeys, ApproveBulkExport | runs the platform and is the second person on exports; needs no plaintext PI, so it cannot unmask and cannot request exports it would then approve; it does not read the audit log that watches it |
//! | `customer_service` | ViewMaskedUser, UnmaskPhone, UnmaskAddress, UnmaskRealName, HandlePrivacyRequests, RequestBulkExport | verifies callers and fixes deliveries (policy `collect.customer_service`), so it may unmask phone, delivery address and recipient name — each time with a stated purpose, audited; answers privacy requests (PRV-28) and may *request* an export |
//! | `moderator` | ModerateListings, HandleTakedowns | judges listings and objections about people named in court listings (PRV-37); sees listings and pseudonymous author ids only — no user view, no contact data |
//! | `auditor` | ReadAuditLog, VerifyAuditLog | checks the audit chain and who unmasked what; cannot unmask or change anything |
//!
//! `UnmaskIdNumber` is held by **no** role: the verification result, the masked number and the keyed
//! hash are all any task needs (PRV-12); an authority's lawful request goes through a bulk export
//! with two-person approval.

use std::fmt;

use crate::consent::SubjectRef;

/// Minimum length, in characters after trimming, of a stated purpose.
pub const MIN_PURPOSE_CHARS: usize = 4;
/// Maximum length, in characters after trimming, of a stated purpose.
pub const MAX_PURPOSE_CHARS: usize = 500;

/// A staff role (`staff_members.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StaffRole {
    /// `admin`.
    Admin,
    /// `customer_service`.
    CustomerService,
    /// `moderator`.
    Moderator,
    /// `auditor`.
    Auditor,
}

/// Something a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// See user records with PI masked (PRV-14 defaults).
    ViewMaskedUser,
    /// Unmask a phone number (purpose required, audited).
    UnmaskPhone,
    /// Unmask a real name / recipient name (purpose required, audited).
    UnmaskRealName,
    /// Unmask an ID number (held by no role; see module docs).
    UnmaskIdNumber,
    /// Unmask a postal address (purpose required, audited).
    UnmaskAddress,
    /// Approve, edit or remove listings.
    ModerateListings,
    /// Handle objections/takedowns about people named in court listings (PRV-37).
    HandleTakedowns,
    /// Work privacy requests and complaints (PRV-28).
    HandlePrivacyRequests,
    /// Read the audit log.
    ReadAuditLog,
    /// Run the audit-chain verifier.
    VerifyAuditLog,
    /// Create, disable and change roles of staff.
    ManageStaff,
    /// Request a bulk export.
    RequestBulkExport,
    /// Approve someone else's bulk export.
    ApproveBulkExport,
    /// Rotate keys, shred data keys.
    ManageKeys,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 14] = [
        Capability::ViewMaskedUser,
        Capability::UnmaskPhone,
        Capability::UnmaskRealName,
        Capability::UnmaskIdNumber,
        Capability::UnmaskAddress,
        Capability::ModerateListings,
        Capability::HandleTakedowns,
        Capability::HandlePrivacyRequests,
        Capability::ReadAuditLog,
        Capability::VerifyAuditLog,
        Capability::ManageStaff,
        Capability::RequestBulkExport,
        Capability::ApproveBulkExport,
        Capability::ManageKeys,
    ];

    /// zh-CN label for the staff console.
    pub fn label_zh(self) -> &'static str {
        match self {
            Capability::ViewMaskedUser => "查看用户信息（去标识化）",
            Capability::UnmaskPhone => "查看完整手机号（需写明理由，留痕）",
            Capability::UnmaskRealName => "查看完整姓名（需写明理由，留痕）",
            Capability::UnmaskIdNumber => "查看完整证件号码",
            Capability::UnmaskAddress => "查看完整地址（需写明理由，留痕）",
            Capability::ModerateListings => "审核房源",
            Capability::HandleTakedowns => "处理异议与下架",
            Capability::HandlePrivacyRequests => "处理个人信息请求与投诉",
            Capability::ReadAuditLog => "查阅审计日志",
            Capability::VerifyAuditLog => "校验审计日志完整性",
            Capability::ManageStaff => "管理工作人员账号与角色",
            Capability::RequestBulkExport => "申请批量导出",
            Capability::ApproveBulkExport => "审批他人的批量导出",
            Capability::ManageKeys => "管理密钥（轮换、销毁）",
        }
    }
}

impl StaffRole {
    /// Every role.
    pub const ALL: [StaffRole; 4] = [
        StaffRole::Admin,
        StaffRole::CustomerService,
        StaffRole::Moderator,
        StaffRole::Auditor,
    ];

    /// The stored id (`admin`, `customer_service`, `moderator`, `auditor`).
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::CustomerService => "customer_service",
            StaffRole::Moderator => "moderator",
            StaffRole::Auditor => "auditor",
        }
    }

    /// Parses a stored id.
    pub fn parse(s: &str) -> Option<StaffRole> {
        StaffRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// zh-CN name.
    pub fn label_zh(self) -> &'static str {
        match self {
            StaffRole::Admin => "管理员",
            StaffRole::CustomerService => "客服",
            StaffRole::Moderator => "审核员",
            StaffRole::Auditor => "审计员",
        }
    }

    /// The role's capabilities (the least-privilege matrix; rationale in the module docs).
    pub fn capabilities(self) -> &'static [Capability] {
        use Capability::*;
        match self {
            StaffRole::Admin => &[ViewMaskedUser, ManageStaff, ManageKeys, ApproveBulkExport],
            StaffRole::CustomerService => &[
                ViewMaskedUser,
                UnmaskPhone,
                UnmaskRealName,
                UnmaskAddress,
                HandlePrivacyRequests,
                RequestBulkExport,
            ],
            StaffRole::Moderator => &[ModerateListings, HandleTakedowns],
            StaffRole::Auditor => &[ReadAuditLog, VerifyAuditLog],
        }
    }

    /// Why the role holds what it holds (zh-CN, for the staff console).
    pub fn rationale_zh(self) -> &'static str {
        match self {
            StaffRole::Admin => {
                "负责人员与密钥管理，并作为批量导出的第二审批人；工作中不需要明文个人信息，因此不能查看完整信息，也不能申请导出或查阅监督自己的审计日志。"
            }
            StaffRole::CustomerService => {
                "核实来电用户、处理配送与售后，可在写明理由后查看完整手机号、姓名和地址，每次查看均记入审计日志；处理个人信息请求，可申请批量导出但不能自行批准。"
            }
            StaffRole::Moderator => {
                "审核房源、处理异议与下架，只看到房源内容和作者假名，看不到任何联系方式。"
            }
            StaffRole::Auditor => {
                "查阅并校验审计日志，监督谁在何时因何查看了个人信息；不能查看完整信息，也不能修改任何数据。"
            }
        }
    }

    /// Whether the role holds `cap`.
    pub fn has(self, cap: Capability) -> bool {
        self.capabilities().contains(&cap)
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What may be unmasked (the categories with an unmask capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnmaskCategory {
    /// Mobile number.
    Phone,
    /// Real name / recipient name.
    RealName,
    /// Identity-document number.
    IdNumber,
    /// Postal address.
    Address,
}

impl UnmaskCategory {
    /// The capability needed.
    pub fn capability(self) -> Capability {
        match self {
            UnmaskCategory::Phone => Capability::UnmaskPhone,
            UnmaskCategory::RealName => Capability::UnmaskRealName,
            UnmaskCategory::IdNumber => Capability::UnmaskIdNumber,
            UnmaskCategory::Address => Capability::UnmaskAddress,
        }
    }

    /// Stable id, matching `mask::PiCategory` naming (`phone`, `real_name`, `id_number`, `address`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnmaskCategory::Phone => "phone",
            UnmaskCategory::RealName => "real_name",
            UnmaskCategory::IdNumber => "id_number",
            UnmaskCategory::Address => "address",
        }
    }
}

/// Refusals from the role checks; each names what is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The role lacks the capability.
    #[error("role {role} lacks capability {capability:?}")]
    MissingCapability {
        /// The role.
        role: StaffRole,
        /// The capability.
        capability: Capability,
    },
    /// The stated purpose is shorter than [`MIN_PURPOSE_CHARS`] characters after trimming.
    #[error("a purpose of at least {MIN_PURPOSE_CHARS} characters is required")]
    PurposeTooShort,
    /// The stated purpose is longer than [`MAX_PURPOSE_CHARS`].
    #[error("the purpose must be at most {MAX_PURPOSE_CHARS} characters")]
    PurposeTooLong,
    /// The staff id is empty.
    #[error("staff id is empty")]
    EmptyStaffId,
    /// Requester and approver are the same person.
    #[error("a bulk export cannot be approved by the person who requested it")]
    SelfApproval,
}

fn check_purpose(purpose: &str) -> Result<String, RoleError> {
    let p = purpose.trim();
    let n = p.chars().count();
    if n < MIN_PURPOSE_CHARS {
        return Err(RoleError::PurposeTooShort);
    }
    if n > MAX_PURPOSE_CHARS {
        return Err(RoleError::PurposeTooLong);
    }
    Ok(p.to_string())
}

fn check_staff(staff: &str) -> Result<String, RoleError> {
    let s = staff.trim();
    if s.is_empty() {
        Err(RoleError::EmptyStaffId)
    } else {
        Ok(s.to_string())
    }
}

fn require(role: StaffRole, capability: Capability) -> Result<(), RoleError> {
    if role.has(capability) {
        Ok(())
    } else {
        Err(RoleError::MissingCapability { role, capability })
    }
}

/// Entry point for unmasking one value of one subject.
#[derive(Debug)]
pub struct UnmaskRequest;

impl UnmaskRequest {
    /// Checks that `role` may unmask `category` and that `purpose` is stated (≥ 4 characters after
    /// trimming, ≤ 500), and returns the [`Unmask`] token. The caller must append
    /// [`Unmask::audit_record`] to the audit log before showing the plaintext (PRV-14, 31).
    ///
    /// # Errors
    /// [`RoleError::EmptyStaffId`], [`RoleError::MissingCapability`], [`RoleError::PurposeTooShort`],
    /// [`RoleError::PurposeTooLong`].
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        staff: &str,
        role: StaffRole,
        category: UnmaskCategory,
        subject: SubjectRef,
        purpose: &str,
    ) -> Result<Unmask, RoleError> {
        let staff = check_staff(staff)?;
        require(role, category.capability())?;
        let purpose = check_purpose(purpose)?;
        Ok(Unmask {
            staff,
            role,
            category,
            subject,
            purpose,
        })
    }
}

/// Permission to unmask one category of one subject once, for a stated purpose. Only
/// [`UnmaskRequest::new`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an unmask must be recorded in the audit log"]
pub struct Unmask {
    staff: String,
    role: StaffRole,
    category: UnmaskCategory,
    subject: SubjectRef,
    purpose: String,
}

/// The data an audit event for an unmasked read needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmaskAudit {
    /// Staff id (actor).
    pub staff: String,
    /// Staff role.
    pub role: StaffRole,
    /// Category unmasked.
    pub category: UnmaskCategory,
    /// Subject pseudonym.
    pub subject: SubjectRef,
    /// Stated purpose (trimmed).
    pub purpose: String,
}

impl Unmask {
    /// The category.
    pub fn category(&self) -> UnmaskCategory {
        self.category
    }
    /// The subject.
    pub fn subject(&self) -> &SubjectRef {
        &self.subject
    }
    /// Consumes the token into the audit record.
    pub fn audit_record(self) -> UnmaskAudit {
        UnmaskAudit {
            staff: self.staff,
            role: self.role,
            category: self.category,
            subject: self.subject,
            purpose: self.purpose,
        }
    }
}

/// A bulk-export request awaiting a second person's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkExportRequest {
    requested_by: String,
    purpose: String,
    scope: String,
}

impl BulkExportRequest {
    /// A request by `staff` holding `RequestBulkExport`, with a purpose (≥ 4 chars) and a scope
    /// description (non-empty).
    ///
    /// # Errors
    /// [`RoleError::EmptyStaffId`], [`RoleError::MissingCapability`], [`RoleError::PurposeTooShort`]
    /// (also for an empty scope), [`RoleError::PurposeTooLong`].
    pub fn new(
        staff: &str,
        role: StaffRole,
        purpose: &str,
        scope: &str,
    ) -> Result<BulkExportRequest, RoleError> {
        let requested_by = check_staff(staff)?;
        require(role, Capability::RequestBulkExport)?;
        let purpose = check_purpose(purpose)?;
        let scope = scope.trim();
        if scope.is_empty() {
            return Err(RoleError::PurposeTooShort);
        }
        Ok(BulkExportRequest {
            requested_by,
            purpose,
            scope: scope.to_string(),
        })
    }

    /// Who requested it.
    pub fn requested_by(&self) -> &str {
        &self.requested_by
    }

    /// Approval by `approver` holding `ApproveBulkExport`, who is not the requester
    /// (ids compared after trimming, case-insensitively).
    ///
    /// # Errors
    /// [`RoleError::EmptyStaffId`], [`RoleError::SelfApproval`], [`RoleError::MissingCapability`].
    pub fn approve(self, approver: &str, role: StaffRole) -> Result<ApprovedBulkExport, RoleError> {
        let approved_by = check_staff(approver)?;
        if approved_by.to_lowercase() == self.requested_by.to_lowercase() {
            return Err(RoleError::SelfApproval);
        }
        require(role, Capability::ApproveBulkExport)?;
        Ok(ApprovedBulkExport {
            requested_by: self.requested_by,
            approved_by,
            purpose: self.purpose,
            scope: self.scope,
        })
    }
}

/// An export approved by two different people. Only [`BulkExportRequest::approve`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedBulkExport {
    /// Requester.
    pub requested_by: String,
    /// Approver (≠ requester).
    pub approved_by: String,
    /// Stated purpose.
    pub purpose: String,
    /// Scope description.
    pub scope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subj() -> SubjectRef {
        SubjectRef::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn least_privilege_matrix() {
        use Capability::*;
        // Nobody unmasks ID numbers; only customer service unmasks anything.
        for r in StaffRole::ALL {
            assert!(!r.has(UnmaskIdNumber));
            let unmasks = [UnmaskPhone, UnmaskRealName, UnmaskAddress]
                .iter()
                .any(|c| r.has(*c));
            assert_eq!(unmasks, r == StaffRole::CustomerService, "{r}");
            assert!(!r.rationale_zh().is_empty());
            assert_eq!(StaffRole::parse(r.as_str()), Some(r));
        }
        // Auditor reads audit but cannot unmask; moderator sees no user data at all.
        assert!(StaffRole::Auditor.has(ReadAuditLog) && !StaffRole::Auditor.has(ViewMaskedUser));
        assert!(!StaffRole::Moderator.has(ViewMaskedUser));
        assert!(StaffRole::Moderator.has(ModerateListings));
        // Separation of duties: no role both requests and approves exports; admin does not read audit.
        for r in StaffRole::ALL {
            assert!(
                !(r.has(RequestBulkExport) && r.has(ApproveBulkExport)),
                "{r}"
            );
        }
        assert!(!StaffRole::Admin.has(ReadAuditLog));
        for c in Capability::ALL {
            assert!(!c.label_zh().is_empty());
        }
    }

    #[test]
    fn unmask_needs_capability_and_purpose() {
        let ok = UnmaskRequest::new(
            "cs-01",
            StaffRole::CustomerService,
            UnmaskCategory::Phone,
            subj(),
            "  回拨用户售后来电 ",
        )
        .unwrap();
        let rec = ok.audit_record();
        assert_eq!(rec.purpose, "回拨用户售后来电");
        assert_eq!(rec.staff, "cs-01");
        assert_eq!(rec.category, UnmaskCategory::Phone);
        assert_eq!(rec.subject, subj());
        assert_eq!(
            UnmaskRequest::new(
                "a-1",
                StaffRole::Auditor,
                UnmaskCategory::Phone,
                subj(),
                "核查投诉内容"
            ),
            Err(RoleError::MissingCapability {
                role: StaffRole::Auditor,
                capability: Capability::UnmaskPhone
            })
        );
        assert!(matches!(
            UnmaskRequest::new(
                "m-1",
                StaffRole::Moderator,
                UnmaskCategory::Address,
                subj(),
                "核查房源地址"
            ),
            Err(RoleError::MissingCapability { .. })
        ));
        assert!(
            UnmaskRequest::new(
                "cs-01",
                StaffRole::CustomerService,
                UnmaskCategory::IdNumber,
                subj(),
                "核对身份"
            )
            .is_err()
        );
        assert_eq!(
            UnmaskRequest::new(
                "cs-01",
                StaffRole::CustomerService,
                UnmaskCategory::Phone,
                subj(),
                "  回拨  "
            ),
            Err(RoleError::PurposeTooShort)
        );
        assert_eq!(
            UnmaskRequest::new(
                "cs-01",
                StaffRole::CustomerService,
                UnmaskCategory::Phone,
                subj(),
                ""
            ),
            Err(RoleError::PurposeTooShort)
        );
        assert!(
            UnmaskRequest::new(
                "cs-01",
                StaffRole::CustomerService,
                UnmaskCategory::Phone,
                subj(),
                "回拨用户"
            )
            .is_ok()
        );
        assert_eq!(
            UnmaskRequest::new(
                " ",
                StaffRole::CustomerService,
                UnmaskCategory::Phone,
                subj(),
                "回拨用户"
            ),
            Err(RoleError::EmptyStaffId)
        );
    }

    #[test]
    fn bulk_export_two_person_rule() {
        let req = BulkExportRequest::new(
            "cs-01",
            StaffRole::CustomerService,
            "法院调取函 2027-001",
            "订单 2027-01",
        )
        .unwrap();
        assert_eq!(
            req.clone().approve("CS-01 ", StaffRole::Admin),
            Err(RoleError::SelfApproval)
        );
        assert!(matches!(
            req.clone().approve("cs-02", StaffRole::CustomerService),
            Err(RoleError::MissingCapability { .. })
        ));
        let ok = req.approve("admin-1", StaffRole::Admin).unwrap();
        assert_eq!(
            (ok.requested_by.as_str(), ok.approved_by.as_str()),
            ("cs-01", "admin-1")
        );
        assert!(matches!(
            BulkExportRequest::new("admin-1", StaffRole::Admin, "自己导出看看", "全部"),
            Err(RoleError::MissingCapability { .. })
        ));
        assert_eq!(
            BulkExportRequest::new("cs-01", StaffRole::CustomerService, "x", "全部"),
            Err(RoleError::PurposeTooShort)
        );
    }
}
