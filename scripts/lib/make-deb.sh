#!/usr/bin/env bash
# Builds the hook library in release mode for the Kea installed on this system and wraps
# it in a Debian package in OUTDIR (run by scripts/package.sh, on the host for 2.2 and in
# the release's build chroot for 2.6 and 3.0).
#
#   scripts/lib/make-deb.sh OUTDIR
#
# The package: the library in Kea's hooks directory, the example scripts where their
# headers say (/usr/share/kea-runscript/examples), the docs, and a dependency on exactly
# the kea-common it was built against (a hook library must be loaded by that Kea: Kea
# refuses one whose hooks API version differs, and its C++ ABI is that build's).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
mkdir -p "$out"

kea=$(dpkg-query -W -f '${Version}' kea-common)
kea_upstream=${kea%%-*}
crate=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
# One package name for every Kea; the version says which Kea it is for.
version="$crate+kea$kea_upstream"

cargo build --release -p kea-runscript-hook
lib=${CARGO_TARGET_DIR:-target}/release/libkea_runscript.so

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# The stage is the package's ./ entry: 0755 like its other directories, not mktemp's 0700.
chmod 0755 "$stage"
hooks=$stage/usr/lib/$multiarch/kea/hooks
examples=$stage/usr/share/kea-runscript/examples
doc=$stage/usr/share/doc/kea-runscript
install -d "$hooks" "$examples/lib" "$doc" "$stage/DEBIAN"
install -m 0644 "$lib" "$hooks/libkea_runscript.so"
strip --strip-unneeded "$hooks/libkea_runscript.so"
install -m 0755 examples/*.sh examples/*.py "$examples/"
install -m 0644 examples/lib/* "$examples/lib/"
install -m 0644 examples/README.md "$examples/"
install -m 0644 README.md docs/*.md "$doc/"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kea-runscript
License: MPL-2.0

Files: *
License: MPL-2.0
 On Debian systems, the full text of the Mozilla Public License 2.0 can be found in
 /usr/share/common-licenses/MPL-2.0.
EOF

installed_kib=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: kea-runscript
Version: $version
Architecture: $arch
Maintainer: kea-runscript developers <kea-runscript@localhost>
Installed-Size: $installed_kib
Depends: kea-common (= $kea)
Enhances: kea-dhcp4-server, kea-dhcp6-server
Section: net
Priority: optional
Description: Kea DHCP hook library that runs scripts at DHCP events
 libkea_runscript.so is a drop-in replacement for Kea's libdhcp_run_script.so: it runs an
 operator's script at Kea's hook points with the packet, subnet and lease data as
 environment variables, and adds synchronous verdicts, more hook points, several scripts,
 process hygiene and speed.
 .
 Built for Kea $kea.
EOF
deb=$out/kea-runscript_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
