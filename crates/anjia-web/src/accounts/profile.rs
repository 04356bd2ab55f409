//! The profile: nickname rules and the avatar files (issue 3 item 7).
//!
//! * Nickname: optional; NFKC-normalised, surrounding whitespace removed and inner runs of
//!   whitespace collapsed, then 1–[`NICKNAME_MAX`] characters with no control or invisible
//!   formatting characters (zero-width and bidirectional controls, which allow look-alike names).
//!   Stored as plain text (not sensitive PI; see the inventory).
//! * Avatar: the upload (≤ [`AVATAR_MAX_BYTES`]) is sanitised by `anjia_media::sanitize_image`
//!   (type sniffed from the bytes, size and pixel limits checked before decoding, re-encoded so
//!   no EXIF/GPS survives) and written as `<files_dir>/avatars/<32 random hex>.jpg|png`; the
//!   account row keeps the file name. Replacing or resetting deletes the old file.

use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Longest nickname, in characters.
pub const NICKNAME_MAX: usize = 20;
/// Largest avatar upload: 2 MiB.
pub const AVATAR_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Sub-directory of `files_dir` holding avatars.
pub const AVATAR_DIR: &str = "avatars";

/// Why a nickname is refused. Messages never contain the nickname.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NicknameError {
    /// Nothing left after trimming.
    #[error("nickname is empty")]
    Empty,
    /// More than 20 characters.
    #[error("nickname has more than 20 characters")]
    TooLong,
    /// A control or invisible formatting character.
    #[error("nickname contains a control or invisible character")]
    Character,
}

impl NicknameError {
    /// zh-CN explanation for the pages.
    pub fn message_zh(self) -> &'static str {
        match self {
            NicknameError::Empty => "昵称不能为空。",
            NicknameError::TooLong => "昵称最多 20 个字。",
            NicknameError::Character => "昵称不能包含控制字符或不可见字符。",
        }
    }

    /// The problem's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            NicknameError::Empty => "empty",
            NicknameError::TooLong => "too-long",
            NicknameError::Character => "character",
        }
    }
}

/// Invisible formatting characters refused in nicknames (Unicode general category Cf that
/// matter for spoofing): soft hyphen, zero-width space/joiners, LRM/RLM, bidi embeddings and
/// isolates, word joiner and invisible operators, BOM.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// Normalises and checks a nickname.
///
/// # Errors
/// [`NicknameError`].
pub fn normalize_nickname(raw: &str) -> Result<String, NicknameError> {
    let nfkc: String = raw.nfkc().collect();
    if nfkc
        .chars()
        .any(|c| is_invisible(c) || (c.is_control() && !c.is_whitespace()))
    {
        return Err(NicknameError::Character);
    }
    let collapsed = nfkc.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.chars().count() {
        0 => Err(NicknameError::Empty),
        n if n > NICKNAME_MAX => Err(NicknameError::TooLong),
        _ => Ok(collapsed),
    }
}

/// Whether `name` is a stored avatar file name this module made: 32 lowercase hex + `.jpg` or
/// `.png` (checked before it is joined to a path, so a corrupted row cannot point elsewhere).
pub fn is_avatar_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 32
        && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && matches!(ext, "jpg" | "png")
}

/// The `Content-Type` of a stored avatar name.
pub fn avatar_mime(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// The path of a stored avatar name (`<files_dir>/avatars/<name>`), if the name is one of ours.
pub fn avatar_path(files_dir: &Path, name: &str) -> Option<PathBuf> {
    is_avatar_name(name).then(|| files_dir.join(AVATAR_DIR).join(name))
}

/// Writes a sanitised avatar under `files_dir/avatars` (created if missing) and returns its
/// stored file name. The file is written beside its final name and renamed into place, so a reader never
/// sees half a file.
///
/// # Errors
/// I/O errors (the message names the directory, never the account).
pub async fn write_avatar(files_dir: &Path, bytes: &[u8], png: bool) -> std::io::Result<String> {
    let dir = files_dir.join(AVATAR_DIR);
    tokio::fs::create_dir_all(&dir).await?;
    let stem = hex::encode(rand::random::<[u8; 16]>());
    let name = format!("{stem}.{}", if png { "png" } else { "jpg" });
    let tmp = dir.join(format!("{stem}.part"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(&name)).await?;
    Ok(name)
}

/// Deletes a stored avatar (a missing file is not an error; a name not ours is ignored).
///
/// # Errors
/// I/O errors other than "not found".
pub async fn delete_avatar(files_dir: &Path, name: &str) -> std::io::Result<()> {
    let Some(p) = avatar_path(files_dir, name) else {
        return Ok(());
    };
    match tokio::fs::remove_file(p).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nicknames() {
        assert_eq!(normalize_nickname("  小 王   同学 ").unwrap(), "小 王 同学");
        assert_eq!(normalize_nickname("ＡＢＣ").unwrap(), "ABC");
        assert_eq!(
            normalize_nickname(&"字".repeat(20))
                .unwrap()
                .chars()
                .count(),
            20
        );
        assert_eq!(
            normalize_nickname(&"字".repeat(21)),
            Err(NicknameError::TooLong)
        );
        assert_eq!(normalize_nickname("   "), Err(NicknameError::Empty));
        assert_eq!(normalize_nickname(""), Err(NicknameError::Empty));
        for bad in [
            "a\u{0}b",
            "a\u{200B}b",
            "a\u{202E}b",
            "a\u{7}b",
            "\u{FEFF}x",
        ] {
            assert_eq!(
                normalize_nickname(bad),
                Err(NicknameError::Character),
                "{bad:?}"
            );
        }
        // Line breaks and tabs are whitespace: collapsed, not refused.
        assert_eq!(normalize_nickname("a\nb\tc").unwrap(), "a b c");
    }

    #[test]
    fn avatar_names() {
        let ok = format!("{}.jpg", "a".repeat(32));
        assert!(is_avatar_name(&ok));
        assert_eq!(avatar_mime(&ok), "image/jpeg");
        assert_eq!(avatar_mime("x.png"), "image/png");
        assert_eq!(
            avatar_path(Path::new("/f"), &ok).unwrap(),
            Path::new("/f/avatars").join(&ok)
        );
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            &format!("{}.gif", "a".repeat(32)),
            &format!("{}.jpg", "A".repeat(32)),
            &format!("{}.jpg", "a".repeat(31)),
            &format!("x/{}.jpg", "a".repeat(32)),
            &format!("avatars/{}.jpg", "a".repeat(32)),
            &format!("{}.jpg.png", "a".repeat(32)),
        ] {
            assert!(!is_avatar_name(bad), "{bad}");
            assert!(avatar_path(Path::new("/tmp"), bad).is_none());
        }
    }

    #[tokio::test]
    async fn avatar_files_are_written_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let name = write_avatar(dir.path(), b"\x89PNG...", true).await.unwrap();
        assert!(is_avatar_name(&name), "{name}");
        let p = avatar_path(dir.path(), &name).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"\x89PNG...");
        // No temporary file is left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join(AVATAR_DIR))
                .unwrap()
                .count(),
            1
        );
        delete_avatar(dir.path(), &name).await.unwrap();
        assert!(!p.exists());
        delete_avatar(dir.path(), &name).await.unwrap();
        delete_avatar(dir.path(), "../x").await.unwrap();
    }

    proptest! {
        #[test]
        fn nickname_results_obey_the_rules(s in ".{0,40}") {
            if let Ok(n) = normalize_nickname(&s) {
                let count = n.chars().count();
                prop_assert!((1..=NICKNAME_MAX).contains(&count));
                prop_assert!(!n.chars().any(|c| c.is_control() || is_invisible(c)));
                prop_assert_eq!(n.trim(), n.as_str());
                prop_assert_eq!(normalize_nickname(&n), Ok(n.clone()));
            }
        }
    }
}
