#!/bin/sh
# Venue Desk .deb postrm. The group is kept on remove and purge: files and devices may still
# carry it, and a reinstall reuses it. The venue's data (database, recordings, keyring entries)
# lives in the operators' home directories and is never touched by the package.
set -e
if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
  udevadm control --reload-rules 2>/dev/null || true
fi
exit 0
