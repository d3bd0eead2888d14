#!/usr/bin/env bash
# Installs a Venue Desk .deb on a clean, throw-away Debian 12 root (debootstrap, no container) with
# apt, so its Depends are resolved from Debian alone, then checks what an IT administrator would:
# the group and udev rule, `config check`, the message without a display, the window under Xvfb
# (start-up time to the first interactive screen, a screenshot), and a second start. The root is
# deleted afterwards. Writes installer/test-deb-last-result.md.
#
#   sudo bash installer/test-deb-in-chroot.sh target-package/release/bundle/deb/Venue*.deb
#
# VD_CHROOT=DIR reuses (and keeps) an existing debootstrapped root (chroot-root.sh).
set -euo pipefail

deb=$(readlink -f "${1:?usage: test-deb-in-chroot.sh PACKAGE.deb}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
result="$here/test-deb-last-result.md"
result_of=installer/test-deb-in-chroot.sh
shots="$repo/test-artifacts"
describe() {
  echo "- package: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB; installed size ${installed_kib:-?} KiB; version ${version:-?})"
  echo "- root: Debian 12 (bookworm) minbase by debootstrap, package installed with apt"
}
source "$here/chroot-root.sh"
cp "$deb" "$root/tmp/venue-desk.deb"

log "apt install the package (Depends from Debian) and the test's own tools"
apt_in_root /tmp/venue-desk.deb xvfb xauth dbus dbus-x11 imagemagick procps passwd
version=$(in_root dpkg-query -W -f='${Version}' venue-desk)
installed_kib=$(in_root dpkg-query -W -f='${Installed-Size}' venue-desk)

log "what the package installed"
in_root test -x /usr/bin/venue-desk || fail "/usr/bin/venue-desk missing"
in_root test -x /usr/bin/venue-sim || fail "/usr/bin/venue-sim missing"
in_root test -f /usr/lib/udev/rules.d/60-venue-desk-serial.rules || fail "udev rule missing"
in_root getent group venue-desk >/dev/null || fail "postinst did not create the venue-desk group"
checks+=("installed: /usr/bin/venue-desk, /usr/bin/venue-sim, udev rule, group venue-desk created by postinst")

log "an operator account in the group"
make_operator -G venue-desk

log "config check (the built-in demo venue)"
out=$(op venue-desk config check 2>&1) || fail "config check: $out"
checks+=("\`venue-desk config check\`: $(echo "$out" | head -1)")

log "no display"
set +e
out=$(op venue-desk 2>&1); rc=$?
set -e
[ $rc -eq 3 ] && grep -q "needs a graphical display" <<<"$out" || fail "no-display start: exit $rc, $out"
checks+=("without a display: exit 3, \"$(echo "$out" | head -1)\"")

log "the window under Xvfb"
start_display 42
start_ns=$(date +%s%N)
op env DISPLAY=:42 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" VENUE_DESK_READY_FILE=/tmp/vd-ready \
  sh -c 'venue-desk >/tmp/vd-app.log 2>&1 & echo $! >/tmp/vd-app.pid'
ready_ms=""
for _ in $(seq 600); do
  if [ -f "$root/tmp/vd-ready" ]; then ready_ms=$((($(date +%s%N) - start_ns) / 1000000)); break; fi
  sleep 0.1
done
app_pid=$(cat "$root/tmp/vd-app.pid")
[ -n "$ready_ms" ] || { tail -20 "$root/tmp/vd-app.log"; fail "the window did not become interactive in 60 s"; }
checks+=("start-up to the first interactive screen (VENUE_DESK_READY_FILE, written by the UI's ui_ready): ${ready_ms} ms")
sleep 3
in_root kill -0 "$app_pid" || fail "the app exited after start: $(tail -5 "$root/tmp/vd-app.log")"
in_root env DISPLAY=:42 import -window root /tmp/vd-window.png
mkdir -p "$shots"
cp "$root/tmp/vd-window.png" "$shots/deb-chroot-window.png"
checks+=("window up 3 s after ready; screenshot test-artifacts/deb-chroot-window.png")
grep -q 'ui ready' "$root/home/vdoperator/.local/share/org.venuedesk.desk/logs/"venue-desk*.log ||
  fail "no 'ui ready' in the app's log"
checks+=("log file under ~/.local/share/org.venuedesk.desk/logs records \"ui ready\"")

log "a second start"
set +e
out=$(op env DISPLAY=:42 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" timeout 30 venue-desk 2>&1); rc=$?
set -e
grep -q "已在本机运行\|already running" <<<"$out" || fail "second start: exit $rc, $out"
in_root kill -0 "$app_pid" || fail "the first window ended when a second start was tried"
checks+=("second start: exit $rc, \"$(grep -v "ERROR" <<<"$out" | grep "已在本机运行\|already running" | head -1 | cut -c1-60)…\"; first window still up")

in_root kill "$app_pid" || true
sleep 2

# An upgrade: the same files as a newer version (dpkg sees an upgrade and runs the maintainer
# scripts as it would for a real one). The data in the operator's home must come through untouched.
log "upgrade over the installed package"
data=/home/vdoperator/.local/share/org.venuedesk.desk
op mkdir -p "$data/recordings/keep-test"
op sh -c "echo segment > $data/recordings/keep-test/segment.mkv"
before=$(op env LANG=en_US.UTF-8 venue-desk journal verify 2>&1 | head -1)
db_before=$(in_root sha256sum "$data/venue-desk.db" | cut -d' ' -f1)
next=$(mktemp -d)
dpkg-deb -R "$deb" "$next/pkg"
sed -i "s/^Version: .*/Version: ${version}+upgrade1/" "$next/pkg/DEBIAN/control"
dpkg-deb -b "$next/pkg" "$root/tmp/venue-desk-next.deb" >/dev/null
rm -rf "$next"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/venue-desk-next.deb >>/tmp/vd-apt.log 2>&1 ||
  fail "upgrade: $(tail -5 /tmp/vd-apt.log)"
[ "$(in_root dpkg-query -W -f='${Version}' venue-desk)" = "${version}+upgrade1" ] || fail "upgrade: version not changed"
[ "$(in_root sha256sum "$data/venue-desk.db" | cut -d' ' -f1)" = "$db_before" ] || fail "the upgrade changed the database file"
after=$(op env LANG=en_US.UTF-8 venue-desk journal verify 2>&1 | head -1)
[[ "$after" == OK:* ]] || fail "journal after the upgrade: $after"
in_root test -f "$data/recordings/keep-test/segment.mkv" || fail "the upgrade lost a recording"
in_root getent group venue-desk >/dev/null || fail "the upgrade lost the group"
checks+=("upgrade to ${version}+upgrade1 with apt: database file unchanged, journal \"$after\" (before: \"$before\"), recordings and group kept")

# Training: the launcher the menu entry runs, with venue-sim, on its own data directory.
log "the training launcher"
rm -f "$root/tmp/vd-ready"
op env DISPLAY=:42 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" VENUE_DESK_READY_FILE=/tmp/vd-ready \
  setsid sh -c '/usr/lib/venue-desk/venue-desk-training >/tmp/vd-training.log 2>&1 & echo $! >/tmp/vd-training.pid'
for _ in $(seq 600); do [ -f "$root/tmp/vd-ready" ] && break; sleep 0.1; done
[ -f "$root/tmp/vd-ready" ] || fail "training window did not come up: $(tail -5 "$root/tmp/vd-training.log")"
training=/home/vdoperator/.local/share/org.venuedesk.desk-training
in_root test -f "$training/venue-desk.db" || fail "training has no database of its own"
grep -q "OK: demo session" "$root/tmp/vd-training.log" || fail "training: no demo session seeded: $(tail -5 "$root/tmp/vd-training.log")"
sleep 3
in_root kill -0 "$(cat "$root/tmp/vd-training.pid")" || fail "training ended after start: $(tail -5 "$root/tmp/vd-training.log")"
# The journal's head and count, not the file's bytes: opening a WAL database (the journal check
# above) may checkpoint it, which rewrites the file without changing what it holds.
now=$(op env LANG=en_US.UTF-8 venue-desk journal verify 2>&1 | head -1)
[ "$now" = "$after" ] || fail "training touched the venue's database: journal now \"$now\", before training \"$after\""
in_root env DISPLAY=:42 import -window root /tmp/vd-training.png
cp "$root/tmp/vd-training.png" "$shots/deb-chroot-training.png"
in_root pkill -TERM -s "$(in_root ps -o sid= -p "$(cat "$root/tmp/vd-training.pid")" | tr -d ' ')" || true
checks+=("training launcher: venue-sim up, demo session seeded, window ready, own database in ~/.local/share/org.venuedesk.desk-training, the venue's journal unchanged; screenshot test-artifacts/deb-chroot-training.png")
write_result "PASS"
cat "$result"
