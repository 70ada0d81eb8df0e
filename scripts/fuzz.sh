#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a given time each (libFuzzer, nightly
# toolchain, address sanitizer). A crash fails the run and leaves its input in
# fuzz/artifacts/TARGET/; turn it into a regression test (see fuzz/README.md).
#
# Usage:  scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   per target (default 60)
#   TARGET    default: every target (cargo fuzz list)
# Environment: FUZZ_JOBS=1 (parallel fuzzing processes per target).
# Seeds: fuzz/seeds/TARGET/ and fixtures/events/*.json (render_json).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-60}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive integer (got '$seconds')" >&2; exit 2; }
shift || true
jobs=${FUZZ_JOBS:-1}

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly, or scripts/install-deps.sh)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is missing (cargo install cargo-fuzz, or scripts/install-deps.sh)" >&2
    exit 1
fi

cd fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

# Seed corpora: fuzz/seeds/TARGET/ and the event fixtures (copied; the sources stay as they are).
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    [ -d "seeds/$t" ] && cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true
done
cp -n ../fixtures/events/*.json corpus/render_json/ 2>/dev/null || true

for t in "${targets[@]}"; do
    cargo +nightly fuzz build -O "$t" >/dev/null 2>"build-$t.log" || { cat "build-$t.log" >&2; exit 1; }
    rm -f "build-$t.log"
done
failed=()
for t in "${targets[@]}"; do
    echo "==> fuzz $t for ${seconds}s"
    # -jobs sends libFuzzer's output to fuzz-N.log files; one job keeps it on stderr.
    parallel=()
    [ "$jobs" -le 1 ] || parallel=(-jobs="$jobs" -workers="$jobs")
    if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" "${parallel[@]}" \
            -print_final_stats=1 2>"artifacts-$t.log"; then
        tail -n 40 "artifacts-$t.log" >&2
        failed+=("$t")
    else
        grep -E '^stat::number_of_executed_units|^Done' "artifacts-$t.log" | sed 's/^/    /' || true
    fi
    rm -f "artifacts-$t.log"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no crash"
