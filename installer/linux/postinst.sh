#!/bin/sh
# Venue Desk .deb postinst: the operator group for USB–serial adapters (udev rule
# 60-venue-desk-serial.rules), then the rules applied to adapters already plugged in.
# Idempotent: an upgrade runs it again and changes nothing that exists.
set -e

if [ "$1" = "configure" ]; then
  if ! getent group venue-desk >/dev/null; then
    groupadd --system venue-desk
    echo "venue-desk: created the group venue-desk. Add each operator's login to it for the lock boards on USB–serial adapters:"
    echo "venue-desk:   usermod -aG venue-desk <login>   (takes effect at the operator's next login)"
  fi
  # No udev in a chroot or container build: the rules then apply at the next boot.
  if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
    udevadm control --reload-rules 2>/dev/null || true
    udevadm trigger --subsystem-match=tty --action=change 2>/dev/null || true
  fi
fi
exit 0
