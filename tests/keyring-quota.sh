#!/usr/bin/env bash
# The test run keeps about a thousand secrets in the kernel keyring until it ends (each test's
# venue has its own roster key, device passwords and credentials). Root may hold a million keys;
# other users 200 by default, which fails the run halfway with "Disk quota exceeded". Say so first.
set -euo pipefail
[ "$(id -u)" -eq 0 ] && exit 0
keys=$(cat /proc/sys/kernel/keys/maxkeys)
bytes=$(cat /proc/sys/kernel/keys/maxbytes)
if [ "$keys" -lt 3000 ] || [ "$bytes" -lt 500000 ]; then
  echo "The tests need room for about 1000 keys in the kernel keyring; this user may hold $keys keys / $bytes bytes." >&2
  echo "Raise the limit (until reboot) and run again:" >&2
  echo "  sudo sysctl -w kernel.keys.maxkeys=5000 kernel.keys.maxbytes=1000000" >&2
  exit 2
fi
