//! Plain `cargo test -p papr-nestedv2` builds without the feature `sim`, which leaves out the
//! end-to-end tests over the software L0 (`papr_hcall::sim::SoftL0`). This test says so on
//! the console, with the command that runs them, and fails when its list of them is out of
//! date. With `--features sim` it is not built and those tests run instead.
#![cfg(not(feature = "sim"))]

use std::io::Write;

/// The files of `tests/` that build only with `--features sim`.
const NEED_SIM: &[&str] = &["concurrent.rs", "liveness.rs", "softl0.rs"];
/// The command that runs them.
const COMMAND: &str = "cargo test -p papr-nestedv2 --features sim";
/// The line that gates a test file on the feature.
const GATE: &str = "#![cfg(feature = \"sim\")]";

#[test]
fn end_to_end_tests_need_feature_sim() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut gated: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.trim() == GATE)
        })
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    gated.sort();
    assert_eq!(
        gated,
        NEED_SIM,
        "the files of {} gated by {GATE}",
        dir.display()
    );
    // Straight to stderr, not through `eprintln!`: the test harness would capture it.
    let note = format!(
        "note: {} end-to-end test file(s) were not built ({}): they need the feature `sim`; run `{COMMAND}`\n",
        NEED_SIM.len(),
        NEED_SIM.join(", ")
    );
    std::io::stderr().write_all(note.as_bytes()).unwrap();
}
