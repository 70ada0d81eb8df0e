#!/usr/bin/env bash
# Installs what the build and the tests need on Debian, only where missing (idempotent).
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
for pair in kea-dhcp4:kea-dhcp4-server kea-dhcp6:kea-dhcp6-server perfdhcp:kea-admin ip:iproute2 pgrep:procps; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
done
[ -f /usr/include/kea/hooks/hooks.h ] || need+=(kea-dev)
[ -d /usr/include/boost ] || need+=(libboost-dev)
command -v c++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; installing Debian's cargo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cargo >/dev/null
fi
