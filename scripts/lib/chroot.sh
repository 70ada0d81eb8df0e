# shellcheck shell=bash
# Debian chroots for the Kea releases this tree supports (sourced by scripts/matrix.sh
# and scripts/package.sh, not executed). Needs ROOT (the repository) and LOGS (a
# directory for logs) set by the caller.
#
#   need_mmdebstrap                installs mmdebstrap unless it is there
#   ensure_chroot VERSION          the build chroot of 2.6/3.0 ($CACHE/<suite>), made once
#   ensure_clean_tarball VERSION   the tarball clean_chroot unpacks, made once
#   clean_chroot VERSION DIR       a fresh minimal chroot of VERSION's release in DIR
#   in_chroot DIR SCRIPT [VAR=..]  runs `bash -c SCRIPT` inside DIR as root
#   prepare_tree VERSION           copies the tree to /src of the build chroot, vendors crates
#
# Build chroots are made with mmdebstrap from the Debian registry this host uses and
# kept under $KRS_MATRIX_CACHE (/var/cache/kea-runscript-matrix): later runs reuse them.

CACHE=${KRS_MATRIX_CACHE:-/var/cache/kea-runscript-matrix}
# cargo -j inside the chroots: the machine has 2 cores shared with everything else.
JOBS=${KRS_MATRIX_JOBS:-2}

# Version -> Debian suite, extra apt options, and how the chroot resolves Cargo.lock:
# `committed` builds with the repository's Cargo.lock; `msrv` re-resolves it with
# cargo's Rust-version-aware resolver (trixie's cargo 1.85 cannot build every crate
# version the committed lock pins, e.g. cxx 1.0.205 needs 1.88).
declare -A SUITE=([2.2]=bookworm [2.6]=trixie [3.0]=forky)
declare -A LOCK=([2.6]=msrv [3.0]=committed)
# This registry serves a frozen snapshot whose forky Release file has expired.
declare -A APTOPT=([2.2]="" [2.6]="" [3.0]='Acquire::Check-Valid-Until "false"')
# Every apt in and for the chroots retries a failed download (scripts/lib/apt.sh): one
# registry hiccup must not fail a CI run that has been going for an hour.
# shellcheck source=apt.sh
. "$ROOT/scripts/lib/apt.sh"
# What the build chroots hold: Kea (servers, headers, perfdhcp), the build tools, what the
# end-to-end tests use, and the release's own Rust toolchain.
BUILD_PACKAGES=kea-dhcp4-server,kea-dhcp6-server,kea-dev,kea-admin,libboost-dev,libssl-dev,g++,iproute2,procps,nftables,nats-server,python3,python3-venv,unbound,bind9-dnsutils,rustc,cargo,ca-certificates
# What the clean chroots of the package check hold: Kea as an operator installs it, and
# what the check drives it with.
CLEAN_PACKAGES=kea-dhcp4-server,kea-admin,iproute2,procps

chroot_die() { echo "chroot: $*" >&2; exit 1; }

# The Debian mirror this host's apt uses (deb822 or one-line format).
mirror() {
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          grep -v -e security -e nodesource -e google | head -1 || true)
    [ -n "$uri" ] || uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*debian\)[[:space:]].*/\2/p' \
                          /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

# Installs mmdebstrap on the host unless it is there. scripts/matrix.sh calls it before
# it makes chroots in the background: two apt-gets at once on the host would collide on
# dpkg's lock.
need_mmdebstrap() {
    command -v mmdebstrap >/dev/null && return 0
    apt_get update -qq
    apt_get install -y -qq mmdebstrap >/dev/null
}

# The apt.conf.d file every chroot of VERSION keeps: its apt options for later apt-gets
# (the package check's install, and anyone working in the chroot).
write_aptconf() {
    { echo "$APT_RETRIES_CONF;"; [ -z "${APTOPT[$1]}" ] || echo "${APTOPT[$1]};"; } >"$2/etc/apt/apt.conf.d/99krs-matrix"
}

# mmdebstrap VERSION's release with PACKAGES into TARGET (a directory or a .tar).
bootstrap() {
    local version=$1 packages=$2 target=$3 suite=${SUITE[$1]}
    need_mmdebstrap
    local opts=(--variant=apt --include="$packages" --aptopt="$APT_RETRIES_CONF")
    [ -z "${APTOPT[$version]}" ] || opts+=(--aptopt="${APTOPT[$version]}")
    local log
    log=$LOGS/mmdebstrap-$(basename "$target").log
    mmdebstrap "${opts[@]}" "$suite" "$target" "$(mirror)" >"$log" 2>&1 ||
        { tail -20 "$log" >&2; chroot_die "mmdebstrap $suite failed (log: $log)"; }
}

# Makes $CACHE/<suite> unless a complete one is there (an interrupted run leaves only
# <suite>.tmp, which is started over).
ensure_chroot() {
    local version=$1 dir=$CACHE/${SUITE[$1]}
    if [ -f "$dir/.krs-matrix-ready" ]; then
        # The ready file names the packages the chroot was made with (empty: an older
        # chroot); one made before BUILD_PACKAGES grew gets the list installed now, with
        # no service started in the chroot (policy-rc.d).
        [ "$(cat "$dir/.krs-matrix-ready")" = "$BUILD_PACKAGES" ] && return 0
        echo "chroot: installing the build packages into $dir (the list grew)"
        in_chroot "$dir" 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            rc=0
            { apt-get update -qq && apt-get install -y -qq $PACKAGES >/dev/null; } || rc=$?
            rm -f /usr/sbin/policy-rc.d
            exit $rc' DEBIAN_FRONTEND=noninteractive PACKAGES="${BUILD_PACKAGES//,/ }" ||
            chroot_die "could not install the build packages into $dir"
        echo "$BUILD_PACKAGES" >"$dir/.krs-matrix-ready"
        return 0
    fi
    mkdir -p "$CACHE"
    rm -rf "$dir.tmp" "$dir"
    echo "chroot: creating the ${SUITE[$version]} build chroot in $dir (once)"
    bootstrap "$version" "$BUILD_PACKAGES" "$dir.tmp"
    write_aptconf "$version" "$dir.tmp"
    echo "$BUILD_PACKAGES" >"$dir.tmp/.krs-matrix-ready"
    mv "$dir.tmp" "$dir"
}

# Makes $CACHE/<suite>-clean.tar, the minimal chroot of VERSION's release that
# clean_chroot unpacks, unless it is there.
ensure_clean_tarball() {
    local version=$1 tarball=$CACHE/${SUITE[$1]}-clean.tar
    [ -f "$tarball" ] && return 0
    mkdir -p "$CACHE"
    echo "chroot: creating the clean ${SUITE[$version]} chroot tarball $tarball (once)"
    bootstrap "$version" "$CLEAN_PACKAGES" "$tarball.tmp.tar"
    mv "$tarball.tmp.tar" "$tarball"
}

# Unpacks a fresh minimal chroot of VERSION's release into DIR (empty or missing).
clean_chroot() {
    local version=$1 dir=$2
    ensure_clean_tarball "$version"
    mkdir -p "$dir"
    tar -C "$dir" -xf "$CACHE/${SUITE[$version]}-clean.tar"
    write_aptconf "$version" "$dir"
}

# Runs `bash -c SCRIPT` as root inside chroot DIR, in a private mount namespace with
# /proc, /sys, /dev and an empty /run (for `ip netns`), with the variables given after it.
# Every mount ends with the namespace.
in_chroot() {
    local dir=$1 script=$2
    shift 2
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    unshare --mount --propagation private -- bash -c '
        set -e
        r=$1; shift
        # The chroot'"'"'s / must be a mount point: `ip netns exec` remounts it.
        mount --bind "$r" "$r"
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        mount -t tmpfs -o mode=0755 tmpfs "$r/run"
        mkdir -p "$r/run/lock"
        exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
    ' krs-chroot "$dir" "$@" bash -c "$script"
}

# Copies the working tree (without target/ and .git) to /src in VERSION's build chroot,
# resolves its Cargo.lock as LOCK says and vendors every crate it names into /vendor.
# The host's cargo talks to the registry; the chroot builds offline from /vendor, so it
# needs no network access of its own.
prepare_tree() {
    local dir=$CACHE/${SUITE[$1]}
    rm -rf "$dir/src"
    mkdir -p "$dir/src/.cargo"
    tar -C "$ROOT" --exclude=./target --exclude=./.git -cf - . | tar -C "$dir/src" -xf -
    if [ "${LOCK[$1]}" = msrv ]; then
        # Rust-version-aware resolution (cargo >= 1.84): the newest versions that build
        # with the workspace's rust-version, older ones where needed.
        rm -f "$dir/src/Cargo.lock"
        (cd "$dir/src" && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile -q)
    fi
    (cd "$dir/src" && cargo vendor -q --locked "$dir/vendor" >/dev/null)
    # The tests' Python package (a pure wheel), fetched by the host like the crates: the
    # chroot installs it offline (KRS_PIP_WHEELS), so it needs no registry access (nor the
    # host's trust store) of its own.
    local nats_py
    nats_py=$(sed -n 's/^NATS_PY=//p' "$ROOT/scripts/install-deps.sh")
    [ -x "$ROOT/target/venv/bin/pip" ] || "$ROOT/scripts/install-deps.sh"
    "$ROOT/target/venv/bin/pip" download -q --no-deps -d "$dir/wheels" "$nats_py"
    # The test runner (scripts/test.sh): the host's cargo-nextest, a static-enough binary
    # that runs on the newer glibc of trixie and forky.
    install -m 0755 "$(command -v cargo-nextest)" "$dir/usr/local/bin/cargo-nextest"
    cat >"$dir/src/.cargo/config.toml" <<'CONFIG'
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "/vendor"
CONFIG
}

# The variables every cargo run in a build chroot gets: offline from /vendor, the build
# directory, cargo's home and the tests' Python venv kept in the chroot (/build) so reruns
# are incremental (/src is copied afresh each run).
CHROOT_CARGO_VARS=(CARGO_HOME=/build/cargo-home CARGO_NET_OFFLINE=true
                   CARGO_TARGET_DIR=/build/target CARGO_BUILD_JOBS="$JOBS" KRS_VENV=/build/venv
                   KRS_PIP_WHEELS=/wheels)
