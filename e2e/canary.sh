# Helpers the kubectl canary suites share (sourced after lib.sh): a sample
# Deployment and what a test reads back from it.
# shellcheck shell=bash
CANARY=$BIN/kubectl-canary
K="kubectl -n $NS"

# app NAME REPLICAS [PROGRESS_DEADLINE_S]: a Deployment of one container
# "app"; APP_SIDECAR=1 adds a second container "sidecar", APP_SERVICE=1 a
# Service selecting it. Waits for its rollout.
app() {
	{
		cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  progressDeadlineSeconds: ${3:-600}
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      containers:
      - {name: app, image: "registry.example/$1:1.0"}
YAML
		[ "${APP_SIDECAR:-0}" = 1 ] && printf '      - {name: sidecar, image: "registry.example/proxy:1.0"}\n'
		[ "${APP_SERVICE:-0}" = 1 ] &&
			printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {selector: {app: %s}, ports: [{port: 80}]}\n' "$1" "$1"
	} | $K apply -f - >/dev/null
	$K rollout status deploy/"$1" --timeout=60s >/dev/null
}

# replicas NAME: spec.replicas of a Deployment ("absent" when missing).
replicas() { $K get deploy "$1" -o jsonpath='{.spec.replicas}' 2>/dev/null || echo absent; }
# state NAME: the run state annotation (JSON).
state() { $K get deploy "$1" -o jsonpath='{.metadata.annotations.rollguard\.io/canary}'; }
phase() { state "$1" | jq -r .phase; }
# image NAME: the first container's image.
image() { $K get deploy "$1" -o jsonpath='{.spec.template.spec.containers[0].image}'; }
# snapshot: a digest of what must not change when a command is refused or
# only planned: every Deployment's metadata, spec and generation (the
# status moves on its own). A digest keeps a passing check one short line.
snapshot() {
	$K get deploy -o json | jq -cS '[.items[] | {name: .metadata.name, generation: .metadata.generation,
		labels: .metadata.labels, annotations: .metadata.annotations, spec: .spec}]' | sha256sum | cut -c1-16
}

# --- the crash suites (a test build kills itself at ROLLGUARD_TEST_KILL_AT):
# a watcher of every pod event beside the test, and what a run that ended
# must not leave behind.
# WATCHERS: the pids of the watchers still running (a suite's EXIT trap
# kills them).
WATCHERS=()
# watch_capacity NAME: watches the pods of app NAME, both tracks
# (e2e/tools/capacity_watch.py), until capacity_verdicts, recording every
# moment fewer than N of them are Ready; returns once the watch runs.
watch_capacity() {
	python3 "$e2e_root/e2e/tools/capacity_watch.py" "$NS" "$1" "$N" "$E2E_TMP/capacity-$1" &
	WATCHERS+=("$!")
	for _ in $(seq 1 50); do [ -s "$E2E_TMP/capacity-$1" ] && break; sleep 0.1; done
}
# capacity_verdicts: stops the watchers; one check for each: the capacity
# never dropped below N.
capacity_verdicts() {
	local f name
	kill "${WATCHERS[@]}" 2>/dev/null
	wait "${WATCHERS[@]}" 2>/dev/null
	WATCHERS=()
	sleep 0.5
	# shellcheck disable=SC2034 # fail shows them: a failure here is no command's
	RC="" OUT="" ERR=""
	for f in "$E2E_TMP"/capacity-*; do
		name=${f##*/capacity-}
		if grep -q VIOLATION "$f"; then
			fail "$name: capacity invariant broken: $(grep VIOLATION "$f" | head -3 | tr '\n' ';')"
		elif grep -q '^max_seen_ready' "$f"; then
			ok "$name: capacity never below $N ($(grep max_seen_ready "$f"))"
		else
			fail "$name: the capacity watcher did not finish"
		fi
	done
}
# lock_free NAME: "free" when no one holds D=NAME's lock: no Lease, or the
# one a run's end left, held by the holder the state names (lockHolder),
# which the next command takes at once; else who holds it.
lock_free() {
	local holder
	holder=$($K get lease "rollguard-canary-$1" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
	if [ -z "$holder" ] || [ "$holder" = "$(state "$1" | jq -r '.lockHolder // empty')" ]; then
		echo free
	else
		echo "held by $holder"
	fi
}
# run_left_nothing NAME what [TRACK]: no ReplicaSet or pod of D=NAME's
# TRACK (canary; blue-green's is green) once the garbage collector had
# 10 s, no lock held, D not marked active.
run_left_nothing() {
	local track=${3:-canary}
	for _ in $(seq 1 50); do
		[ "$($K get rs,pods -l "app=$1,rollguard.io/track=$track" --no-headers 2>/dev/null | wc -l)" -eq 0 ] && break
		sleep 0.2
	done
	expect_eq "$($K get rs,pods -l "app=$1,rollguard.io/track=$track" --no-headers 2>/dev/null | wc -l)" 0 "$2: no $track ReplicaSet or pod"
	expect_eq "$(lock_free "$1")" free "$2: no lock held"
	expect_eq "$($K get deploy "$1" -o jsonpath='{.metadata.labels.rollguard\.io/canary-active}')" "" "$2: not active"
}

# killed POINT CMD...: runs the canary binary (a ROLLGUARD_TESTING build),
# which must die at the kill point POINT.
killed() {
	local point=$1
	shift
	ROLLGUARD_TEST_KILL_AT=$point run "$CANARY" -n "$NS" "$@"
	expect_rc 137 "$1 killed at $point"
}
