#!/usr/bin/env bash
# The longer checks, not yet part of CI: the real-process and end-to-end tests against
# the release build, every cargo-fuzz target for a short while, and a CI-sized soak.
# Run scripts/test.sh first (it installs what is missing and builds).
set -euo pipefail
cd "$(dirname "$0")/.."
INSTALL_FUZZ=1 scripts/install-deps.sh
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

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
