//! Stops a build that would use webrtc-rs without our current patch series
//! (`patches/webrtc-rs/`), naming the command that applies it. `.ci/patch_webrtc_rs.sh` unpacks
//! the pristine crates into `webrtc-rs-patched/`, where the workspace's `[patch.crates-io]`
//! entries point, applies the series and keeps a copy of it in `webrtc-rs-patched/applied`.
//! Where the script has never run, cargo itself stops earlier (it cannot read the patched
//! crates' manifests); this catches a series changed since it was applied.

use std::path::{Path, PathBuf};

fn main() {
    let repo = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .parent()
        .expect("the crate lives in rust/ of the repository")
        .to_path_buf();
    let series = repo.join("patches/webrtc-rs");
    let applied = repo.join("webrtc-rs-patched/applied");
    println!("cargo:rerun-if-changed={}", series.display());
    println!("cargo:rerun-if-changed={}", applied.display());
    let problem = if !applied.is_dir() {
        Some("webrtc-rs has not been patched in this checkout")
    } else if files(&series) != files(&applied) {
        Some("the patch series changed since it was applied")
    } else {
        None
    };
    if let Some(problem) = problem {
        eprintln!(
            "error: {problem}. Run `bash .ci/patch_webrtc_rs.sh` (it applies patches/webrtc-rs/ \
             to the crates.io sources of webrtc-rs), then build again."
        );
        std::process::exit(1);
    }
}

/// Every file under `dir` with its contents, sorted by path; empty if `dir` is missing.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(contents) = std::fs::read(&path) {
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                found.push((relative, contents));
            }
        }
    }
    found.sort();
    found
}
