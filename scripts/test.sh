#!/usr/bin/env bash
# Runs every test of the workspace: unit, snapshot, property, real-process and
# end-to-end tests with the real Kea (and the example scripts), then each fuzz
# target for FUZZ_SECONDS (30) and a soak of SOAK_EVENTS (100,000) lease events
# per variant with the release library. Installs what is missing first.
# End-to-end tests need root (network namespaces); under CI=true a missing
# prerequisite fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

# Lints: rustfmt and clippy come with rustup toolchains, not with Debian's.
for tool in fmt clippy; do
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then echo "test.sh: cargo $tool is missing (CI=true)" >&2; exit 1; fi
    echo "******** SKIP: cargo $tool is not installed; lint not run ********" >&2
    continue
  fi
  case $tool in
    fmt) cargo fmt --all --check ;;
    clippy) cargo clippy --workspace --all-targets -- -D warnings ;;
  esac
done

# The end-to-end tests load the cdylib into Kea; `cargo test` alone does not
# produce libkea_runscript.so, so build it first.
cargo build -p kea-runscript-hook
cargo test --workspace --no-fail-fast
# Again with the release build: the runner's hand-written syscall code and the
# library Kea loads are the optimized ones in production. The real-process tests of
# core and the end-to-end tests (which then load target/release/libkea_runscript.so).
cargo test --release -p kea-runscript-core -p kea-runscript-hook --tests --no-fail-fast

# Fuzzing: every cargo-fuzz target for a short while (a crash fails the run).
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

# Soak with the release library: flat RSS, fds, threads, mappings, no zombies, no
# falling rate, every event accounted for (scripts/soak.sh for the tolerances).
cargo build --release -p kea-runscript-hook
EVENTS="${SOAK_EVENTS:-100000}" scripts/soak.sh
