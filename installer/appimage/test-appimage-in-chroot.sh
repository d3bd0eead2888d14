#!/usr/bin/env bash
# Runs the Venue Desk AppImage on a throw-away Debian 12 root (debootstrap, no container) that has
# only what a desktop host provides — X, Mesa, ALSA, fonts, FUSE — and none of GTK, WebKitGTK or
# GStreamer, so every one of those must come from the image. Checks what an operator would: a
# command-line call, the message without a display, the window under Xvfb (start-up time, a
# screenshot), the mount gone when the app ends, a second start, extract-and-run without FUSE and
# the training mode. Writes installer/appimage/test-appimage-last-result.md.
#
#   sudo bash installer/appimage/test-appimage-in-chroot.sh PATH/TO/Venue_Desk-VERSION-x86_64.AppImage
#
# VD_CHROOT=DIR reuses (and keeps) an existing debootstrapped root (installer/chroot-root.sh).
set -euo pipefail

image=$(readlink -f "${1:?usage: test-appimage-in-chroot.sh IMAGE.AppImage}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
result="$here/test-appimage-last-result.md"
result_of=installer/appimage/test-appimage-in-chroot.sh
shots="$repo/test-artifacts"
# What any desktop has; the image brings the rest. imagemagick, procps and passwd are the test's.
host_packages=(xvfb xauth dbus dbus-x11 fuse3 fonts-noto-cjk libgl1 libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri libgbm1
  libasound2 libfontconfig1 libfreetype6 libharfbuzz0b libx11-xcb1 imagemagick procps passwd)
describe() {
  echo "- image: $(basename "$image") ($(du -k "$image" | cut -f1) KiB)"
  echo "- root: Debian 12 (bookworm) minbase by debootstrap with only: ${host_packages[*]}"
}
cleanup_more() {
  [ -n "${app_pid:-}" ] && in_root kill "$app_pid" 2>/dev/null
  rm -f "${fuse_node:-}"
}
source "$repo/installer/chroot-root.sh"

# A desktop's /dev/fuse is open to every user (udev, fuse3's rule); this machine's may be root's
# only. A node of the root's own, bound over the host's, gives the operator what a desktop gives.
fuse_node=$(mktemp /tmp/vd-fuse-node.XXXXXX)
rm -f "$fuse_node" && mknod -m 666 "$fuse_node" c 10 229
mount --bind "$fuse_node" "$root/dev/fuse"
# A booted system has /etc/mtab (systemd makes it); fusermount3 needs it to unmount as a user.
[ -e "$root/etc/mtab" ] || ln -s ../proc/self/mounts "$root/etc/mtab"

log "apt install the host's side only: ${host_packages[*]}"
apt_in_root "${host_packages[@]}"

# The point of the exercise: none of the app's big libraries is on this root.
present=$(in_root sh -c '/sbin/ldconfig -p | grep -E "libgtk-3\.so|libwebkit2gtk-4\.1|libjavascriptcoregtk|libgstreamer-1\.0|libsoup-3" || true')
[ -z "$present" ] || fail "the root already has libraries the image should bring: $present"
checks+=("the root has no GTK, WebKitGTK, JavaScriptCore, libsoup or GStreamer (ldconfig -p)")

log "an operator account"
make_operator
app=/home/vdoperator/VenueDesk.AppImage
cp "$image" "$root$app"
chroot "$root" chown vdoperator: "$app"
chroot "$root" chmod 755 "$app"

mounted() { grep -c " $root/tmp/.mount_" /proc/mounts || true; }

log "a command-line call through the FUSE mount"
out=$(op "$app" config check 2>&1) || fail "config check: $out"
grep -q "^OK:" <<<"$out" || fail "config check: $out"
grep -q "falling back\|extract" <<<"$out" && fail "the image did not mount with FUSE: $out"
checks+=("\`VenueDesk.AppImage config check\` (mounted with FUSE as the operator): $(grep '^OK:' <<<"$out" | head -1)")
for _ in $(seq 50); do [ "$(mounted)" -eq 0 ] && break; sleep 0.1; done
[ "$(mounted)" -eq 0 ] || fail "a mount is left after the command ended"
in_root sh -c 'ls -d /tmp/.mount_* 2>/dev/null' && fail "a mount directory is left after the command ended"

log "no display"
set +e
out=$(op "$app" 2>&1); rc=$?
set -e
[ $rc -eq 3 ] && grep -q "needs a graphical display" <<<"$out" || fail "no-display start: exit $rc, $out"
checks+=("without a display: exit 3, \"$(grep -m1 "graphical display" <<<"$out" | cut -c1-90)…\"")

log "the window under Xvfb"
start_display 43
start_window() { # $1: extra env, sets app_pid and ready_ms
  rm -f "$root/tmp/vd-ready"
  local start_ns; start_ns=$(date +%s%N)
  op env DISPLAY=:43 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" VENUE_DESK_READY_FILE=/tmp/vd-ready $1 \
    sh -c "$app ${2:-} >/tmp/vd-app.log 2>&1 & echo \$! >/tmp/vd-app.pid"
  ready_ms=""
  for _ in $(seq 900); do
    if [ -f "$root/tmp/vd-ready" ]; then ready_ms=$((($(date +%s%N) - start_ns) / 1000000)); break; fi
    sleep 0.1
  done
  app_pid=$(cat "$root/tmp/vd-app.pid")
  [ -n "$ready_ms" ] || { tail -20 "$root/tmp/vd-app.log"; fail "the window did not become interactive in 90 s ($1 ${2:-})"; }
}
stop_window() {
  in_root kill "$app_pid" 2>/dev/null || true
  for _ in $(seq 100); do in_root kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
  app_pid=""
}
start_window "" ""
first_ms=$ready_ms
sleep 4
in_root kill -0 "$app_pid" || fail "the app exited after start: $(tail -5 "$root/tmp/vd-app.log")"
[ "$(mounted)" -ge 1 ] || fail "the window runs but no FUSE mount of the image is seen"
in_root sh -c 'ls -l /proc/[0-9]*/exe 2>/dev/null | grep -q "\.mount_.*WebKitWebProcess"' ||
  fail "WebKit's web process does not run from the image"
in_root env DISPLAY=:43 import -window root /tmp/vd-window.png
mkdir -p "$shots"
cp "$root/tmp/vd-window.png" "$shots/appimage-chroot-window.png"
checks+=("window (FUSE mount): interactive after ${first_ms} ms (VENUE_DESK_READY_FILE, written by the UI's ui_ready); WebKitWebProcess runs from the mount; screenshot test-artifacts/appimage-chroot-window.png")

log "a second start"
set +e
out=$(op env DISPLAY=:43 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" timeout 60 "$app" 2>&1); rc=$?
set -e
grep -q "已在本机运行\|already running" <<<"$out" || fail "second start: exit $rc, $out"
in_root kill -0 "$app_pid" || fail "the first window ended when a second start was tried"
checks+=("second start: exit $rc, \"$(grep -v "ERROR" <<<"$out" | grep "已在本机运行\|already running" | head -1 | cut -c1-60)…\"; first window still up")

stop_window
for _ in $(seq 100); do [ "$(mounted)" -eq 0 ] && break; sleep 0.1; done
[ "$(mounted)" -eq 0 ] || fail "the FUSE mount stayed after the app ended"
in_root sh -c 'ls -d /tmp/.mount_* 2>/dev/null' && fail "the mount directory stayed after the app ended"
checks+=("after the window closed: no mount and no mount directory left")

log "again, now that the GStreamer registry and loaders are cached"
start_window "" ""
second_ms=$ready_ms
stop_window
checks+=("second window start (FUSE mount): interactive after ${second_ms} ms")

log "extract-and-run (a host without FUSE)"
in_root sh -c 'rm -rf /tmp/appimage_extracted_*'
start_window "APPIMAGE_EXTRACT_AND_RUN=1" ""
extract_first_ms=$ready_ms
stop_window
start_window "APPIMAGE_EXTRACT_AND_RUN=1" ""
extract_again_ms=$ready_ms
stop_window
in_root sh -c 'ls -d /tmp/appimage_extracted_*' >/dev/null || fail "extract-and-run left no reusable folder"
checks+=("APPIMAGE_EXTRACT_AND_RUN=1: interactive after ${extract_first_ms} ms (extracting), ${extract_again_ms} ms (reusing the extracted folder)")

log "the training mode"
data=/home/vdoperator/.local/share/org.venuedesk.desk
# The journal's head and count, not the file's bytes (opening a WAL database may checkpoint it).
journal_before=$(op env LANG=en_US.UTF-8 "$app" journal verify 2>&1 | grep '^OK:')
rm -f "$root/tmp/vd-ready"
op env DISPLAY=:43 DBUS_SESSION_BUS_ADDRESS="$dbus_addr" VENUE_DESK_READY_FILE=/tmp/vd-ready \
  setsid sh -c "$app --training >/tmp/vd-training.log 2>&1 & echo \$! >/tmp/vd-training.pid"
for _ in $(seq 900); do [ -f "$root/tmp/vd-ready" ] && break; sleep 0.1; done
[ -f "$root/tmp/vd-ready" ] || fail "training window did not come up: $(tail -5 "$root/tmp/vd-training.log")"
grep -q "OK: demo session" "$root/tmp/vd-training.log" || fail "training: no demo session seeded: $(tail -5 "$root/tmp/vd-training.log")"
sleep 5
in_root kill -0 "$(cat "$root/tmp/vd-training.pid")" || fail "training ended after start: $(tail -5 "$root/tmp/vd-training.log")"
in_root sh -c 'ls -l /proc/[0-9]*/exe 2>/dev/null | grep -q "\.mount_.*/venue-sim"' || fail "venue-sim is not running in training"
journal_now=$(op env LANG=en_US.UTF-8 "$app" journal verify 2>&1 | grep '^OK:')
[ -n "$journal_now" ] && [ "$journal_now" = "$journal_before" ] ||
  fail "training touched the venue's database: journal now \"$journal_now\", before \"$journal_before\""
# The demo session is in progress, so its room records: RTSP from venue-sim's encoders into
# Matroska segments, all through the image's GStreamer.
training=/home/vdoperator/.local/share/org.venuedesk.desk-training
recorded_kib=0
for _ in $(seq 200); do
  recorded_kib=$(in_root sh -c "find $training/recordings -name '*.mkv' -exec du -k {} + 2>/dev/null | awk '{s += \$1} END {print s + 0}'")
  [ "$recorded_kib" -gt 1024 ] && break
  sleep 0.1
done
[ "$recorded_kib" -gt 1024 ] || fail "training: the demo session did not record: $(grep -i 'record' "$root/tmp/vd-training.log" | tail -3)"
in_root env DISPLAY=:43 import -window root /tmp/vd-training.png
cp "$root/tmp/vd-training.png" "$shots/appimage-chroot-training.png"
in_root pkill -TERM -s "$(in_root ps -o sid= -p "$(cat "$root/tmp/vd-training.pid")" | tr -d ' ')" || true
checks+=("\`VenueDesk.AppImage --training\`: venue-sim (from the image) up, demo session seeded, window ready, the demo room recording (${recorded_kib} KiB of Matroska segments after 5 s), the venue's journal unchanged; screenshot test-artifacts/appimage-chroot-training.png")

write_result "PASS"
cat "$result"
