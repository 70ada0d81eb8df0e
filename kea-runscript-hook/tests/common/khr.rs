//! kea-hook-runscript v1.4.0, the older hook library this one replaces, built from the
//! unmodified upstream archive `<project root>/../shared/oracles/kea-hook-runscript-1.4.0.tar.gz`
//! (or `$KRS_ORACLES_DIR/…`) once per test process, for the tests that load it beside ours
//! (e2e_khr_parity, e2e_sigchld). It is known to build only against Kea 2.2
//! ([`kea_supported`]); a missing prerequisite fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::kea::kea_hooks_version;
use super::{missing_prereq, which};

/// The archive of kea-hook-runscript v1.4.0 and its sha256 (../shared/oracles/README.md).
const ARCHIVE: &str = "kea-hook-runscript-1.4.0.tar.gz";
const ARCHIVE_SHA256: &str = "4618e23d12a5f3d07b0337cad938ed423b3461750a6396b4f27f586ddbafb80d";
/// Overrides the directory holding the archive (default: `<project root>/../shared/oracles`).
const ORACLES_DIR_VAR: &str = "KRS_ORACLES_DIR";
/// The first hooks API version kea-hook-runscript 1.4.0 is not known to build against.
const FIRST_UNSUPPORTED_KEA: u32 = 20500;

fn oracles_dir() -> PathBuf {
    std::env::var_os(ORACLES_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/oracles"))
}

enum BuildError {
    /// A prerequisite is missing: fails under CI=true, a loud skip otherwise.
    Missing(String),
    /// It is there but did not build: always fails.
    Failed(String),
}

/// kea-hook-runscript.so, built once per test process (both tests share it); None when a
/// prerequisite is missing outside CI (after a loud SKIP).
pub fn khr_library() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, BuildError>> = OnceLock::new();
    match BUILT.get_or_init(build_khr) {
        Ok(path) => Some(path.clone()),
        Err(BuildError::Missing(text)) => {
            missing_prereq(text);
            None
        }
        Err(BuildError::Failed(text)) => panic!("{text}"),
    }
}

fn run(command: &mut Command) -> Result<String, BuildError> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| BuildError::Failed(format!("{shown}: {e}")))?;
    if !out.status.success() {
        return Err(BuildError::Failed(format!(
            "{shown} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn build_khr() -> Result<PathBuf, BuildError> {
    let archive = oracles_dir().join(ARCHIVE);
    let mut missing = Vec::new();
    if !archive.is_file() {
        missing.push(format!(
            "{} (the kea-hook-runscript oracle; set {ORACLES_DIR_VAR} to the directory holding \
             it when the project is not checked out next to ../shared)",
            archive.display()
        ));
    }
    for tool in ["make", "g++", "tar", "sha256sum"] {
        if which(tool).is_none() {
            missing.push(format!("{tool} (to build kea-hook-runscript)"));
        }
    }
    if !missing.is_empty() {
        return Err(BuildError::Missing(format!(
            "kea-hook-runscript parity prerequisites missing: {}",
            missing.join(", ")
        )));
    }
    let sum = run(Command::new("sha256sum").arg(&archive))?;
    if sum.split_whitespace().next() != Some(ARCHIVE_SHA256) {
        return Err(BuildError::Failed(format!(
            "{} is not the unmodified v1.4.0 archive: sha256 {sum}, expected {ARCHIVE_SHA256}",
            archive.display()
        )));
    }
    let scratch = std::env::temp_dir().join(format!("krs-khr-oracle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)
        .map_err(|e| BuildError::Failed(format!("{}: {e}", scratch.display())))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&scratch))?;
    let source = scratch.join("kea-hook-runscript-1.4.0");
    let mut cxxflags = String::from("-I /usr/include/kea");
    if !Path::new("/usr/include/kea/dhcpsrv/cfg_globals.h").exists() {
        let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shim/compat");
        cxxflags.push_str(&format!(" -I {}", compat.display()));
    }
    cxxflags.push_str(" -fPIC -Wno-deprecated -std=c++14");
    run(Command::new("make")
        .arg("-C")
        .arg(&source)
        .arg("-j2")
        .arg(format!("CXXFLAGS={cxxflags}"))
        .arg("KEA_LIB=/usr/lib/x86_64-linux-gnu"))?;
    // Kept beside the test binary (target/<profile>/khr-oracle/), the scratch build removed;
    // renamed into place, so that another test process's Kea never sees half a file.
    let exe = std::env::current_exe()
        .map_err(|e| BuildError::Failed(format!("test binary path: {e}")))?;
    let keep = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| BuildError::Failed("test binary is not in target/<profile>/deps".into()))?
        .join("khr-oracle");
    std::fs::create_dir_all(&keep)
        .map_err(|e| BuildError::Failed(format!("{}: {e}", keep.display())))?;
    let library = keep.join("kea-hook-runscript.so");
    let partial = keep.join(format!("kea-hook-runscript.so.{}", std::process::id()));
    std::fs::copy(source.join("kea-hook-runscript.so"), &partial)
        .and_then(|_| std::fs::rename(&partial, &library))
        .map_err(|e| BuildError::Failed(format!("copy kea-hook-runscript.so: {e}")))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(library)
}

/// Whether kea-hook-runscript 1.4.0 can be compared against the Kea this library was built
/// for. Elsewhere nothing is compared, so the test must not count as run: under `CI=true`
/// it fails (`scripts/test.sh --kea` leaves this test out against Kea 2.6 and later).
pub fn kea_supported() -> bool {
    let version = kea_hooks_version();
    version < FIRST_UNSUPPORTED_KEA
        || missing_prereq(&format!(
            "NOT COMPARED: kea-hook-runscript 1.4.0 is only known to build against Kea 2.2; \
             this library was built for KEA_HOOKS_VERSION {version} (see this file's header)"
        ))
}
