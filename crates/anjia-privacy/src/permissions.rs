//! Device permissions ↔ consent purposes ↔ features (PRV-03, 16, 17).
//!
//! One static table, [`REGISTRY`], ties each [`Feature`] to at most one [`Permission`] and through it
//! to one consent [`Purpose`]. The server calls [`gate`] on every request of a gated feature with the
//! subject's current [`ConsentState`], so revoking a grant stops use at once (PRV-08). Core features
//! need no permission, so refusing everything optional never blocks the basics (PRV-03; 2019 rules
//! on apps' illegal collection, item 3 "不给权限不让用"; GB/T 35273-2020 §5.3).

use crate::consent::{ConsentState, Purpose};

/// An optional device permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Location (coarse by default; precise needs separate consent).
    Location,
    /// Camera.
    Camera,
    /// Photo album.
    Album,
    /// Notifications.
    Notifications,
    /// Placing phone calls.
    Phone,
    /// Device storage (cache).
    Storage,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 6] = [
        Permission::Location,
        Permission::Camera,
        Permission::Album,
        Permission::Notifications,
        Permission::Phone,
        Permission::Storage,
    ];

    /// The consent purpose this permission is asked for.
    pub fn purpose(self) -> Purpose {
        match self {
            Permission::Location => Purpose::Location,
            Permission::Camera => Purpose::Camera,
            Permission::Album => Purpose::Album,
            Permission::Notifications => Purpose::Notifications,
            Permission::Phone => Purpose::PhoneCall,
            Permission::Storage => Purpose::Storage,
        }
    }

    /// Stable id (`"location"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Location => "location",
            Permission::Camera => "camera",
            Permission::Album => "album",
            Permission::Notifications => "notifications",
            Permission::Phone => "phone",
            Permission::Storage => "storage",
        }
    }

    /// zh-CN name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Permission::Location => "位置",
            Permission::Camera => "相机",
            Permission::Album => "相册",
            Permission::Notifications => "通知",
            Permission::Phone => "电话",
            Permission::Storage => "存储",
        }
    }
}

/// A user-facing feature the server can gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// Full-text and filtered search (core).
    Search,
    /// A lot's page (core).
    LotPage,
    /// Placing an order (core).
    Ordering,
    /// Valuation from an address the user typed (core).
    ValuationByTypedAddress,
    /// Lots near the user's location.
    NearbyLots,
    /// Recent prices near the user's location.
    NearbyPrices,
    /// Rents near the user's location.
    NearbyRents,
    /// Valuation of the place where the user is.
    ValuationByLocation,
    /// Taking an avatar photo with the camera.
    AvatarFromCamera,
    /// Taking a listing photo with the camera.
    ListingPhotoFromCamera,
    /// Picking an avatar from the album.
    AvatarFromAlbum,
    /// Picking listing photos from the album.
    ListingPhotoFromAlbum,
    /// Push notifications for saved searches and orders.
    PushNotifications,
    /// Calling customer service from the app.
    CallCustomerService,
    /// Calling a listing's contact (through a virtual number).
    CallLister,
    /// Caching images and files on the device.
    OfflineCache,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 16] = [
        Feature::Search,
        Feature::LotPage,
        Feature::Ordering,
        Feature::ValuationByTypedAddress,
        Feature::NearbyLots,
        Feature::NearbyPrices,
        Feature::NearbyRents,
        Feature::ValuationByLocation,
        Feature::AvatarFromCamera,
        Feature::ListingPhotoFromCamera,
        Feature::AvatarFromAlbum,
        Feature::ListingPhotoFromAlbum,
        Feature::PushNotifications,
        Feature::CallCustomerService,
        Feature::CallLister,
        Feature::OfflineCache,
    ];

    /// The core features that must work with every optional permission refused (PRV-03).
    pub const CORE: [Feature; 4] = [
        Feature::Search,
        Feature::LotPage,
        Feature::Ordering,
        Feature::ValuationByTypedAddress,
    ];

    /// The registry row of this feature.
    pub fn rule(self) -> &'static FeatureRule {
        // REGISTRY is in Feature::ALL order (a test checks); fall back to a search.
        let i = self as usize;
        match REGISTRY.get(i) {
            Some(r) if r.feature == self => r,
            _ => REGISTRY
                .iter()
                .find(|r| r.feature == self)
                .unwrap_or(&REGISTRY[0]),
        }
    }

    /// The permission this feature needs, if any.
    pub fn permission(self) -> Option<Permission> {
        self.rule().permission
    }
}

/// One registry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureRule {
    /// The feature.
    pub feature: Feature,
    /// The permission it needs (`None` for core features).
    pub permission: Option<Permission>,
    /// What the feature does with the permission (zh-CN, shown when asking).
    pub use_zh: &'static str,
    /// A path that works without the permission, if there is one.
    pub alternative: Option<&'static str>,
}

/// The registry: one row per [`Feature`], in [`Feature::ALL`] order.
pub static REGISTRY: [FeatureRule; 16] = [
    FeatureRule {
        feature: Feature::Search,
        permission: None,
        use_zh: "搜索房源",
        alternative: None,
    },
    FeatureRule {
        feature: Feature::LotPage,
        permission: None,
        use_zh: "查看房源页",
        alternative: None,
    },
    FeatureRule {
        feature: Feature::Ordering,
        permission: None,
        use_zh: "下单",
        alternative: None,
    },
    FeatureRule {
        feature: Feature::ValuationByTypedAddress,
        permission: None,
        use_zh: "按输入的地址估价",
        alternative: None,
    },
    FeatureRule {
        feature: Feature::NearbyLots,
        permission: Some(Permission::Location),
        use_zh: "查看您附近的房源",
        alternative: Some("在搜索中选择区域或输入地址"),
    },
    FeatureRule {
        feature: Feature::NearbyPrices,
        permission: Some(Permission::Location),
        use_zh: "查看您周边的成交价",
        alternative: Some("输入地址或小区名查看周边成交价"),
    },
    FeatureRule {
        feature: Feature::NearbyRents,
        permission: Some(Permission::Location),
        use_zh: "查看您周边的租金行情",
        alternative: Some("输入地址或小区名查看租金行情"),
    },
    FeatureRule {
        feature: Feature::ValuationByLocation,
        permission: Some(Permission::Location),
        use_zh: "按您所在位置估价",
        alternative: Some("输入地址估价"),
    },
    FeatureRule {
        feature: Feature::AvatarFromCamera,
        permission: Some(Permission::Camera),
        use_zh: "拍摄头像",
        alternative: Some("从相册选择或使用默认头像"),
    },
    FeatureRule {
        feature: Feature::ListingPhotoFromCamera,
        permission: Some(Permission::Camera),
        use_zh: "拍摄房源照片",
        alternative: Some("在网页上传照片文件"),
    },
    FeatureRule {
        feature: Feature::AvatarFromAlbum,
        permission: Some(Permission::Album),
        use_zh: "从相册选择头像",
        alternative: Some("使用默认头像"),
    },
    FeatureRule {
        feature: Feature::ListingPhotoFromAlbum,
        permission: Some(Permission::Album),
        use_zh: "从相册选择房源照片",
        alternative: Some("在网页上传照片文件"),
    },
    FeatureRule {
        feature: Feature::PushNotifications,
        permission: Some(Permission::Notifications),
        use_zh: "推送房源与订单消息",
        alternative: Some("在站内消息中心查看"),
    },
    FeatureRule {
        feature: Feature::CallCustomerService,
        permission: Some(Permission::Phone),
        use_zh: "一键拨打客服电话",
        alternative: Some("使用在线客服或手动拨号"),
    },
    FeatureRule {
        feature: Feature::CallLister,
        permission: Some(Permission::Phone),
        use_zh: "一键拨打房源联系人（隐私号码）",
        alternative: Some("查看房源页上的联系方式后手动拨号"),
    },
    FeatureRule {
        feature: Feature::OfflineCache,
        permission: Some(Permission::Storage),
        use_zh: "在本机缓存图片与文件",
        alternative: Some("不缓存，每次在线加载"),
    },
];

/// Why a gated feature was refused: the permission/purpose to ask for, a path that works without
/// it, and a zh-CN message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message_zh}")]
pub struct PermissionRequired {
    /// The feature asked for.
    pub feature: Feature,
    /// The permission it needs.
    pub permission: Permission,
    /// The consent purpose not granted.
    pub purpose: Purpose,
    /// A path that works without it.
    pub alternative: Option<&'static str>,
    /// Message for the user, e.g. "「查看您附近的房源」需要开启位置权限。您也可以：在搜索中选择区域或输入地址。"
    pub message_zh: String,
}

/// Allows `feature` iff it needs no permission or its purpose is granted in `consent` now.
/// Cost: one registry lookup and one bit test.
///
/// # Errors
/// [`PermissionRequired`] naming the permission, purpose and an alternative.
pub fn gate(feature: Feature, consent: &ConsentState) -> Result<(), PermissionRequired> {
    let rule = feature.rule();
    let Some(permission) = rule.permission else {
        return Ok(());
    };
    let purpose = permission.purpose();
    if consent.is_granted(&purpose) {
        return Ok(());
    }
    let mut message_zh = format!("「{}」需要开启{}权限。", rule.use_zh, permission.label_zh());
    if let Some(alt) = rule.alternative {
        message_zh.push_str(&format!("您也可以：{alt}。"));
    }
    Err(PermissionRequired {
        feature,
        permission,
        purpose,
        alternative: rule.alternative,
        message_zh,
    })
}

/// The features that use `permission` (for the settings page: "turning this off stops …").
pub fn features_using(permission: Permission) -> Vec<Feature> {
    REGISTRY
        .iter()
        .filter(|r| r.permission == Some(permission))
        .map(|r| r.feature)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{ConsentEvent, GeneralAcceptance, SubjectRef, Surface};
    use crate::policy::PolicyDocument;
    use time::macros::datetime;

    #[test]
    fn registry_shape() {
        // One row per feature, in order, each feature exactly once.
        for (i, f) in Feature::ALL.iter().enumerate() {
            assert_eq!(REGISTRY[i].feature, *f);
            assert_eq!(REGISTRY.iter().filter(|r| r.feature == *f).count(), 1);
            assert_eq!(f.rule().feature, *f);
        }
        // Every permission has at least one feature; gated features offer an alternative.
        for p in Permission::ALL {
            assert!(!features_using(p).is_empty(), "{p:?} has no feature");
            assert!(p.purpose().is_optional());
        }
        for r in &REGISTRY {
            if r.permission.is_some() {
                assert!(
                    r.alternative.is_some(),
                    "{:?} has no alternative",
                    r.feature
                );
            }
        }
        // Core features need nothing (PRV-03).
        for f in Feature::CORE {
            assert_eq!(f.permission(), None, "{f:?}");
        }
    }

    #[test]
    fn refusing_everything_keeps_the_basics() {
        let d = PolicyDocument::bundled().unwrap();
        let v = d.latest();
        let subj = SubjectRef::parse("0123456789abcdef0123456789abcdef").unwrap();
        let at = datetime!(2027-01-01 0:00 UTC);
        let s = crate::consent::ConsentState::fold_with(
            &GeneralAcceptance::new(v, &[], Surface::App, at)
                .unwrap()
                .events(&subj),
            &d,
        );
        for f in Feature::ALL {
            let r = gate(f, &s);
            assert_eq!(r.is_ok(), Feature::CORE.contains(&f), "{f:?}");
        }
        let e = gate(Feature::NearbyLots, &s).unwrap_err();
        assert_eq!(e.permission, Permission::Location);
        assert_eq!(e.purpose, Purpose::Location);
        assert!(e.message_zh.contains("位置"));
        // Even with nothing accepted at all, the basics work.
        for f in Feature::CORE {
            assert!(gate(f, &crate::consent::ConsentState::default()).is_ok());
        }
        // Granting opens the feature; revoking closes it at once.
        let mut events = GeneralAcceptance::new(v, &[Purpose::Location], Surface::App, at)
            .unwrap()
            .events(&subj);
        assert!(
            gate(
                Feature::NearbyLots,
                &crate::consent::ConsentState::fold(&events)
            )
            .is_ok()
        );
        events.push(ConsentEvent::withdraw(
            subj,
            Purpose::Location,
            v,
            Surface::App,
            at,
        ));
        assert!(
            gate(
                Feature::NearbyLots,
                &crate::consent::ConsentState::fold(&events)
            )
            .is_err()
        );
    }
}
