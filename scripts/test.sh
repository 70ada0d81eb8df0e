#!/usr/bin/env bash
# Runs every test of the workspace: unit, snapshot, property, real-process and
# end-to-end tests with the real Kea. Installs what is missing first.
# End-to-end tests need root (network namespaces); under CI=true a missing
# prerequisite fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# The end-to-end tests load the cdylib into Kea; `cargo test` alone does not
# produce libkea_runscript.so, so build it first.
cargo build -p kea-runscript-hook
cargo test --workspace --no-fail-fast
