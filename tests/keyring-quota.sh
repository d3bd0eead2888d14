#!/usr/bin/env bash
# The test run keeps its secrets in the kernel keyring until it ends (each test's venue has its own
# roster key, device passwords and credentials): 127 keys and 11.8 kB at the peak of a full run.
# Root may hold a million keys; other users 200 keys and 20,000 bytes by default, with whatever
# they hold already counted. Short of room the run would fail halfway with "Disk quota exceeded":
# say so first.
set -euo pipefail
uid=$(id -u)
[ "$uid" -eq 0 ] && exit 0
need_keys=160 need_bytes=16000
# /proc/key-users: "<uid>: usage keys/instantiated used/maxkeys used_bytes/maxbytes"
read -r used_keys max_keys used_bytes max_bytes < <(awk -v u="$uid:" '$1 == u { split($4, k, "/"); split($5, b, "/"); print k[1], k[2], b[1], b[2] }' /proc/key-users)
max_keys=${max_keys:-$(cat /proc/sys/kernel/keys/maxkeys)}
max_bytes=${max_bytes:-$(cat /proc/sys/kernel/keys/maxbytes)}
free_keys=$(( max_keys - ${used_keys:-0} )) free_bytes=$(( max_bytes - ${used_bytes:-0} ))
if [ "$free_keys" -lt "$need_keys" ] || [ "$free_bytes" -lt "$need_bytes" ]; then
  echo "The tests need room for $need_keys keys and $need_bytes bytes in the kernel keyring; this user has room for $free_keys keys and $free_bytes bytes." >&2
  echo "Raise the limit (until reboot) and run again:" >&2
  echo "  sudo sysctl -w kernel.keys.maxkeys=2000 kernel.keys.maxbytes=200000" >&2
  exit 2
fi
