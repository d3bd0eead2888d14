#!/usr/bin/env bash
# Runs a command with the demo venue's simulated devices (venue-sim) up and today's training
# session seeded, and stops venue-sim afterwards. Used by `make run` and `make run-headless`.
set -euo pipefail
bin=${VENUE_DESK_BIN:-./target/debug}
# 1280x720 at 25 fps: the demo records its session's cameras, and a workstation-class machine
# should not spend its cores encoding the simulated 1080p pictures.
"$bin/venue-sim" --camera-format 1280x720@25 >"${TMPDIR:-/tmp}/venue-sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS http://127.0.0.1:18599/devices >/dev/null 2>&1 && break
  kill -0 $sim 2>/dev/null || { echo "venue-sim did not start:"; cat "${TMPDIR:-/tmp}/venue-sim.log"; exit 1; }
  sleep 0.1
done
echo "venue-sim is serving the demo venue's devices (log: ${TMPDIR:-/tmp}/venue-sim.log; control: http://127.0.0.1:18599)"
"$bin/venue-desk" demo seed
echo "Demo experts for check-in (ID numbers): see assets/demo/roster.csv, e.g. 11010519700307123X"
"$@"
