#!/usr/bin/env bash
# Installs what the build, the demo and the tests need on Debian, only what is
# missing (idempotent): Kea 2.2 (servers, headers, perfdhcp), Boost headers, a C++
# compiler, iproute2, nftables (examples test), DHCP clients (dhcpcd, udhcpc,
# dhclient: e2e_clients), nats-server and a Python venv with
# nats-py in target/venv (the NATS worker example and its test), unbound and dig
# (examples/unbound-dns.py and e2e_unbound; Debian starts unbound's own service where
# systemd runs, the tests start their own), and a Rust
# toolchain new enough for the workspace.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
MIN_RUST_MINOR=85   # workspace rust-version 1.85

# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
updated=""
apt_update() { [ -n "$updated" ] || { apt_get update -qq; updated=1; }; }
apt_install() {
  apt_update
  echo "install-deps: installing $*"
  apt_get install -y -qq "$@" >/dev/null
}

need=()
for pair in kea-dhcp4:kea-dhcp4-server kea-dhcp6:kea-dhcp6-server perfdhcp:kea-admin \
            ip:iproute2 pgrep:procps nft:nftables c++:g++ nats-server:nats-server \
            python3:python3 unbound:unbound unbound-control:unbound dig:bind9-dnsutils; do
  cmd=${pair%%:*}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("${pair#*:}")
done
[ -f /usr/include/kea/hooks/hooks.h ] || need+=(kea-dev)
[ -d /usr/include/boost ] || need+=(libboost-dev)
# The DHCP clients of the e2e_clients test (dhcpcd, busybox udhcpc; ISC dhclient where
# the release still ships it: Debian forky does not).
command -v dhcpcd >/dev/null 2>&1 || [ -x /usr/sbin/dhcpcd ] || need+=(dhcpcd-base)
command -v udhcpc >/dev/null 2>&1 || [ -x /usr/sbin/udhcpc ] || need+=(udhcpc)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
# ISC dhclient where the release ships it: the same table as e2e_clients (bookworm and
# trixie; forky and later dropped isc-dhcp-client), not apt-cache, which knows nothing
# before the first `apt-get update`.
if ! command -v dhclient >/dev/null 2>&1 && [ ! -x /usr/sbin/dhclient ]; then
  case $(. /etc/os-release && echo "${VERSION_CODENAME:-}") in
    bookworm | trixie) apt_install isc-dhcp-client ;;
    *) echo "install-deps: this release has no isc-dhcp-client (dhclient); e2e_clients expects none" ;;
  esac
fi
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv

# The NATS client of examples/nats-publish.py, in a venv of the repository's own
# (KRS_VENV overrides the place; the e2e test looks there too).
NATS_PY=nats-py==2.16.0
venv=${KRS_VENV:-$(cd "$(dirname "$0")/.." && pwd)/target/venv}
if ! "$venv/bin/python3" -c 'import nats' 2>/dev/null; then
  echo "install-deps: creating $venv with $NATS_PY"
  /usr/bin/python3 -m venv "$venv"
  # KRS_PIP_WHEELS: a directory with the wheel, installed offline (scripts/matrix.sh's
  # chroots get it from the host, as they get their crates).
  "$venv/bin/pip" install -q ${KRS_PIP_WHEELS:+--no-index --find-links "$KRS_PIP_WHEELS"} "$NATS_PY"
fi

# Rust: a rustup toolchain (~/.cargo/bin) if there is one; otherwise Debian's. The
# plain `cargo` package of bookworm is 1.63, too old; `cargo-web` is Debian's
# current toolchain (1.8x/1.9x, kept up to date for browsers) and provides `cargo`.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
rust_minor() { rustc --version 2>/dev/null | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p'; }
minor=$(rust_minor)
if [ -z "$minor" ] || [ "$minor" -lt "$MIN_RUST_MINOR" ]; then
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain install stable --profile minimal -c rustfmt -c clippy
  else
    apt_install cargo-web
  fi
  minor=$(rust_minor)
  if [ -z "$minor" ] || [ "$minor" -lt "$MIN_RUST_MINOR" ]; then
    echo "install-deps: Rust 1.$MIN_RUST_MINOR or newer is needed (found: $(rustc --version 2>/dev/null || echo none))" >&2
    exit 1
  fi
fi

# The test runner of scripts/test.sh: cargo-nextest. scripts/matrix.sh copies the host's
# into its chroots (which build offline), so only the host ever installs it.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# Fuzzing (scripts/fuzz.sh, run by the full scripts/test.sh): a nightly toolchain and
# cargo-fuzz, installed when asked for (INSTALL_FUZZ=1: the full test.sh and
# scripts/matrix.sh ask; test.sh --fast and --kea, as in the version matrix's chroots, do
# not).
if [ "${INSTALL_FUZZ:-0}" = 1 ]; then
  if ! cargo +nightly --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      rustup toolchain install nightly --profile minimal
    else
      echo "install-deps: fuzzing needs a nightly toolchain and rustup is missing (INSTALL_FUZZ=0 skips)" >&2
      exit 1
    fi
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
  fi
fi
