//! `anjia retention run`: every rule of the retention job, a dry run that deletes nothing (the
//! rules themselves are tested on both backends in `crates/anjia-store/tests/retention.rs`).

fn anjia(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(args)
        .current_dir(dir)
        .env("ANJIA_IMPORT_BUNDLED", "false")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn retention_run_lists_every_rule_and_a_dry_run_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = anjia(dir.path(), &["retention", "run", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.starts_with("retention (dry run"), "{text}");
    for r in anjia_store::retention::RETENTION_RULES {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(r.table) && l.contains("would go")),
            "{}: {text}",
            r.table
        );
    }
    let (ok, text) = anjia(dir.path(), &["retention", "run"]);
    assert!(ok, "{text}");
    assert!(text.contains("deleted"), "{text}");
}
