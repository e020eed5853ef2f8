#!/usr/bin/env bash
# Stops exactly the processes up.sh recorded (never by name), newest first,
# and removes the cluster's state directory.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
R=$ROLLGUARD_CLUSTER_DIR
[ -d "$R" ] || exit 0
order=$(printf '%s\n' $CLUSTER_COMPONENTS | tac)
for c in $order; do
	f=$R/pid/$c.pid
	[ -s "$f" ] || continue
	pid=$(cat "$f")
	# setsid made each component a process-group leader: signal the group.
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
done
for c in $order; do
	f=$R/pid/$c.pid
	[ -s "$f" ] || continue
	pid=$(cat "$f")
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
done
rm -rf "$R"
