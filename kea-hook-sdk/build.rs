//! Builds the cxx bridge and the C++ shim against Kea's installed headers and links Kea's
//! libraries.
//!
//! `KEA_INCLUDE_DIR` (default `/usr/include/kea`), `KEA_LIB_DIR` (default: the linker's search
//! path) and `BOOST_INCLUDE_DIR` (default: the compiler's search path) override the locations.

use std::env;
use std::path::{Path, PathBuf};
use std::process;

/// Kea's libraries the shim calls into, in link order. `kea-dhcp++` was renamed `kea-dhcp`
/// in Kea 2.7.7 (see [`kea_libs`]).
const KEA_LIBS: &[&str] = &[
    "kea-hooks",
    "kea-eval",
    "kea-dhcpsrv",
    "kea-cfgclient",
    "kea-stats",
    "kea-dhcp++",
    "kea-asiolink",
    "kea-cc",
    "kea-log",
    "kea-util",
    "kea-exceptions",
];

/// The shim's C++ sources, compiled with the bridge.
const SHIM_SOURCES: &[&str] = &[
    "extract.cc",
    "library.cc",
    "logging.cc",
    "testing.cc",
    "eval.cc",
    "replay.cc",
    "parking.cc",
    "command.cc",
    "apply.cc",
];

/// The cxx bridges. `src/testing.rs` (feature `testing`) gives tests a real CalloutHandle;
/// its C++ is not linked into a hook because nothing outside the tests refers to it.
const BRIDGES: &[&str] = &[
    "src/bridge.rs",
    "src/testing.rs",
    "src/eval.rs",
    "src/leases.rs",
    "src/callbacks.rs",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let shim_dir = manifest_dir.join("../shim");
    for var in ["KEA_INCLUDE_DIR", "KEA_LIB_DIR", "BOOST_INCLUDE_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let kea_include = env::var_os("KEA_INCLUDE_DIR")
        .map_or_else(|| PathBuf::from("/usr/include/kea"), PathBuf::from);
    let boost_include = env::var_os("BOOST_INCLUDE_DIR").map(PathBuf::from);
    check_prerequisites(&kea_include, boost_include.as_deref());
    // The one build-time setting that tells the Kea versions apart: the C++ side tests it in
    // shim/kea_compat.h, the Rust side reads it with env!("KRS_KEA_HOOKS_VERSION") (`kea_hook::KEA_VERSION`).
    let hooks_header = kea_include.join("hooks/hooks.h");
    println!("cargo:rerun-if-changed={}", hooks_header.display());
    let hooks_version = kea_hooks_version(&hooks_header);
    println!("cargo:rustc-env=KRS_KEA_HOOKS_VERSION={hooks_version}");
    if hooks_version >= 30000 && !Path::new("/usr/include/openssl/ssl.h").exists() {
        // Kea 3.0's TLS headers pull in Boost.Asio's SSL support.
        eprintln!(
            "error: Kea {hooks_version}'s headers need OpenSSL's (/usr/include/openssl/ssl.h). \
             Install them with `apt-get install libssl-dev`."
        );
        process::exit(1);
    }

    let mut build = cxx_build::bridges(BRIDGES);
    build
        .include(&shim_dir)
        .include(&kea_include)
        .std("c++17")
        .define("KRS_KEA_HOOKS_VERSION", hooks_version.to_string().as_str())
        // Kea's own headers trip these; the shim's code is kept clean of them.
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .flag_if_supported("-Wno-deprecated-copy");
    if let Some(boost) = &boost_include {
        build.include(boost);
    }
    // Debian's kea-dev 2.2.0 lacks dhcpsrv/cfg_globals.h, which dhcpsrv/subnet.h needs, and
    // eval/location.hh, which eval/eval_context.h needs: use the project's stand-ins only then
    // (and after Kea's own include directory), so a complete installation keeps its headers.
    let lacks = |header: &str| !kea_include.join(header).exists();
    if lacks("dhcpsrv/cfg_globals.h") || lacks("eval/location.hh") {
        build.include(shim_dir.join("compat"));
    }
    for source in SHIM_SOURCES {
        build.file(shim_dir.join(source));
    }
    build.compile("kea_runscript_shim");

    for bridge in BRIDGES {
        println!("cargo:rerun-if-changed={bridge}");
    }
    println!("cargo:rerun-if-changed={}", shim_dir.display());
    for entry in walk(&shim_dir) {
        println!("cargo:rerun-if-changed={}", entry.display());
    }
    if let Some(lib_dir) = env::var_os("KEA_LIB_DIR") {
        println!(
            "cargo:rustc-link-search=native={}",
            Path::new(&lib_dir).display()
        );
    }
    for lib in kea_libs(hooks_version) {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
}

/// `KEA_HOOKS_VERSION` from Kea's `hooks/hooks.h` (`const int KEA_HOOKS_VERSION = 20603;`):
/// Kea's version as one number, e.g. 20200 for 2.2.0, 30004 for 3.0.4.
fn kea_hooks_version(header: &Path) -> u32 {
    let text = std::fs::read_to_string(header).unwrap_or_else(|e| {
        eprintln!("error: cannot read {}: {e}", header.display());
        process::exit(1)
    });
    let found = text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("const int KEA_HOOKS_VERSION")?;
        rest.trim_start_matches([' ', '='])
            .trim_end_matches(';')
            .trim()
            .parse()
            .ok()
    });
    found.unwrap_or_else(|| {
        eprintln!(
            "error: no `const int KEA_HOOKS_VERSION = N;` in {}",
            header.display()
        );
        process::exit(1)
    })
}

/// [`KEA_LIBS`] with the DHCP and config libraries under the names Kea `hooks_version`
/// installs them, and
/// from 3.0 on OpenSSL's: Kea 3.0's headers pull in Boost.Asio's SSL code, which calls it.
fn kea_libs(hooks_version: u32) -> impl Iterator<Item = &'static str> {
    let openssl: &[&str] = if hooks_version >= 30000 {
        &["ssl", "crypto"]
    } else {
        &[]
    };
    KEA_LIBS
        .iter()
        .map(move |&lib| match lib {
            "kea-dhcp++" if hooks_version >= 20707 => "kea-dhcp",
            // Kea's command manager (CommandMgr, for in-process commands) moved with meson.
            "kea-cfgclient" if hooks_version >= 20707 => "kea-config",
            other => other,
        })
        .chain(openssl.iter().copied())
}

/// Stops the build with one message naming what to install when Kea's or Boost's headers are
/// missing, instead of pages of compiler errors.
fn check_prerequisites(kea_include: &Path, boost_include: Option<&Path>) {
    let boost_header = boost_include.map_or_else(
        || PathBuf::from("/usr/include/boost/shared_ptr.hpp"),
        |dir| dir.join("boost/shared_ptr.hpp"),
    );
    let mut missing = Vec::new();
    if !kea_include.join("hooks/hooks.h").exists() {
        missing.push(format!(
            "Kea's headers ({}/hooks/hooks.h)",
            kea_include.display()
        ));
    }
    if !boost_header.exists() {
        missing.push(format!("Boost's headers ({})", boost_header.display()));
    }
    if !missing.is_empty() {
        eprintln!(
            "error: kea-hook-sdk cannot find {}. Install them with \
             `apt-get install kea-dev libboost-dev` (Debian/Ubuntu), or point KEA_INCLUDE_DIR / \
             BOOST_INCLUDE_DIR at them.",
            missing.join(" and ")
        );
        process::exit(1);
    }
}

/// Every file under `dir`, so editing any shim source or header reruns the build.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}
