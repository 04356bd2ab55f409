//! Masking of natural persons' names (PRIVACY.md PRV-14 "name 张** (surname only)", PRV-37).

/// Two-character surnames (复姓) recognised when masking, from the common list of Chinese compound
/// surnames.
pub const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "澹台",
    "公冶", "太史", "申屠", "赫连", "闻人", "拓跋", "司空", "濮阳", "淳于", "单于", "仲孙", "公羊",
];

/// Masks a person's name to surname + `**`, e.g. `王小明` → `王**`, `欧阳娜娜` → `欧阳**`.
///
/// The number of stars is constant, so the mask reveals neither the given name nor its length.
/// An empty input gives `**`.
pub fn mask_person_name(name: &str) -> String {
    let surname = COMPOUND_SURNAMES
        .iter()
        .find(|s| name.starts_with(**s) && name.chars().count() > 2)
        .map(|s| s.to_string())
        .unwrap_or_else(|| name.chars().take(1).collect());
    format!("{surname}**")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_to_surname() {
        assert_eq!(mask_person_name("王小明"), "王**");
        assert_eq!(mask_person_name("李娜"), "李**");
        assert_eq!(mask_person_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_person_name("欧阳"), "欧**");
        assert_eq!(mask_person_name(""), "**");
    }

    proptest! {
        #[test]
        fn reveals_at_most_the_surname(name in "[\\u4e00-\\u9fa5]{2,4}") {
            let m = mask_person_name(&name);
            prop_assert!(m.ends_with("**"));
            let revealed = m.trim_end_matches('*');
            prop_assert!(name.starts_with(revealed));
            prop_assert!(revealed.chars().count() <= 2);
            prop_assert!(revealed.chars().count() < name.chars().count());
        }
    }
}
