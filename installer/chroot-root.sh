# Sourced by the install tests (test-deb-in-chroot.sh, appimage/test-appimage-in-chroot.sh): a
# throw-away Debian 12 root made by debootstrap (no container), mounted and cleaned up, and the
# helpers their checks share. The sourcing script sets `result` (its last-result file) and
# defines `describe` (the result's lines about what was tested) before it calls `fail`.
#
# VD_CHROOT=DIR reuses (and keeps) an existing debootstrapped root instead of making one.

[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot need it)"; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap

keep=0
if [ -n "${VD_CHROOT:-}" ]; then root=$VD_CHROOT; keep=1; else root=$(mktemp -d /tmp/vd-chroot.XXXXXX); fi
# mktemp makes the directory 0700; inside the chroot it is "/", which the operator must traverse.
chmod 755 "$root"
checks=()

cleanup() {
  set +e
  declare -F cleanup_more >/dev/null && cleanup_more
  [ -f "$root/tmp/xvfb.pid" ] && kill "$(cat "$root/tmp/xvfb.pid")" 2>/dev/null
  [ -n "${dbus_pid:-}" ] && kill "$dbus_pid" 2>/dev/null
  # Every mount below the root, deepest first: ours, and any a failed check left (a FUSE mount).
  grep -o " $root/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  [ "$keep" -eq 1 ] || rm -rf --one-file-system "$root"
}
trap cleanup EXIT

log() { echo "== $*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  log "debootstrap bookworm into $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  mountpoint -q "$root/$m" && continue
  case $m in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sys "$root/sys" ;;
    dev) mount --bind /dev "$root/dev" ;;
    dev/pts) mount -t devpts devpts "$root/dev/pts" ;;
  esac
done
cp /etc/resolv.conf "$root/etc/resolv.conf"

# apt-get install PACKAGES… (or local .deb files under /tmp) in the root, quietly; its log on failure.
apt_in_root() {
  in_root apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/tmp/vd-apt.log 2>&1 || { tail -30 /tmp/vd-apt.log; exit 1; }
}

write_result() {
  {
    echo "# Last result of ${result_of:?}"
    echo
    echo "- when: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    describe
    echo "- outcome: $1"
    for line in "${checks[@]}"; do echo "- $line"; done
  } >"$result"
}
fail() { echo "FAIL: $*"; write_result "FAIL: $*"; exit 1; }

# The operator `vdoperator` (useradd's extra arguments, e.g. a group, as given) and `op`, which
# runs a command as them with a clean environment.
make_operator() {
  in_root id vdoperator >/dev/null 2>&1 || in_root useradd -m -U -s /bin/bash "$@" vdoperator
  # chroot resolves --userspec names with the host's user database: use the root's own numbers.
  op_ids="$(in_root id -u vdoperator):$(in_root id -g vdoperator)"
  # debootstrap leaves /tmp root's own; the operator's programs need it as a system's /tmp is.
  chroot "$root" chmod 1777 /tmp
}
op() { chroot --userspec="$op_ids" "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/vdoperator USER=vdoperator LANG=en_US.UTF-8 "$@"; }

# Xvfb on display :$1 inside the root, and the operator's session bus (dbus_addr, dbus_pid).
start_display() {
  in_root sh -c "Xvfb :$1 -screen 0 1366x768x24 -nolisten tcp >/tmp/xvfb.log 2>&1 & echo \$! >/tmp/xvfb.pid"
  sleep 2
  local out
  out=$(op dbus-daemon --session --fork --print-address=1 --print-pid=1 2>/dev/null)
  dbus_addr=$(sed -n 1p <<<"$out")
  dbus_pid=$(sed -n 2p <<<"$out")
}
