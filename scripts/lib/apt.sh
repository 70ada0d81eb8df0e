# shellcheck shell=bash
# apt-get with retries, for every script that installs packages (sourced, not executed).
#
#   apt_get ARGS...    DEBIAN_FRONTEND=noninteractive apt-get ARGS, tried 3 times
#
# Two layers: apt's own `Acquire::Retries` retries one failed download; the loop retries
# the whole command (a mirror caught mid-sync answers "Hash Sum mismatch" or a stale index
# until the next `update`). The command-line form of an apt option is `Name=value`
# (`-o Acquire::Retries=5`); the apt.conf form (`Name "value";`) is for files and
# mmdebstrap's --aptopt only: APT_RETRIES_CONF.
APT_RETRIES_OPT=Acquire::Retries=5
# Another apt-get holding dpkg's lock (a second script, unattended-upgrades) is waited for.
APT_LOCK_OPT=DPkg::Lock::Timeout=300
APT_RETRIES_CONF='Acquire::Retries "5"'

apt_get() {
    local try
    for try in 1 2 3; do
        ${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get -o "$APT_RETRIES_OPT" -o "$APT_LOCK_OPT" "$@" && return 0
        [ "$try" -eq 3 ] && break
        echo "apt: 'apt-get $*' failed (try $try of 3); updating the index and trying again" >&2
        sleep $((try * 10))
        ${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get -o "$APT_RETRIES_OPT" -o "$APT_LOCK_OPT" update -qq || true
    done
    echo "apt: 'apt-get $*' failed 3 times" >&2
    return 1
}
