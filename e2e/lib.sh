# Helpers for the e2e suites (sourced): the cluster's environment, a
# namespace per suite, running a binary and asserting on its exit code,
# stderr, stdout and the cluster state afterwards.
# shellcheck shell=bash
set -uo pipefail
e2e_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=cluster/env.sh
. "$e2e_root/e2e/cluster/env.sh"
BIN=${ROLLGUARD_BIN_DIR:-$e2e_root/build}
DRIVER=${KUBE_DRIVER:-$BIN/tests/kube-driver}
PKI=$ROLLGUARD_CLUSTER_DIR/pki
SUITE=$(basename "${BASH_SOURCE[1]}" .sh)
E2E_FAILURES=0
E2E_TMP=$(mktemp -d)
# The binaries' discovery cache stays inside this suite's temp dir.
export XDG_CACHE_HOME=$E2E_TMP/cache

kubectl >/dev/null 2>&1 version --client || { echo "$SUITE: kubectl not built (run scripts/test.sh)" >&2; exit 1; }
kubectl get --raw /readyz >/dev/null 2>&1 || { echo "$SUITE: the local cluster is not running (e2e/cluster/up.sh)" >&2; exit 1; }

# A namespace of this suite's own, removed at exit.
NS=e2e-$(echo "$SUITE" | tr '_' '-' | cut -c1-40)-$$
kubectl create namespace "$NS" >/dev/null
e2e_cleanup() {
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# run CMD...: runs a command, keeping its exit code in RC, stdout in OUT and
# stderr in ERR.
run() {
	"$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	RC=$?
	OUT=$(cat "$E2E_TMP/out")
	ERR=$(cat "$E2E_TMP/err")
}

fail() {
	echo "FAIL [$SUITE] $*" >&2
	echo "  exit code: ${RC:-}" >&2
	echo "  stdout: $(printf '%s' "${OUT:-}" | head -c 2000)" >&2
	echo "  stderr: $(printf '%s' "${ERR:-}" | head -c 2000)" >&2
	E2E_FAILURES=$((E2E_FAILURES + 1))
}

ok() { echo "ok   [$SUITE] $*"; }

# expect_rc N what
expect_rc() {
	if [ "$RC" -eq "$1" ]; then ok "$2: exit $1"; else fail "$2: expected exit $1"; fi
}
expect_out() {
	if grep -qF -- "$1" <<<"$OUT"; then ok "$2: stdout has '$1'"; else fail "$2: stdout lacks '$1'"; fi
}
expect_err() {
	if grep -qF -- "$1" <<<"$ERR"; then ok "$2: stderr has '$1'"; else fail "$2: stderr lacks '$1'"; fi
}
expect_no() {
	if grep -qF -- "$1" <<<"$OUT$ERR"; then fail "$2: output contains '$1'"; else ok "$2: output free of it"; fi
}
# The error line of the suite's contract: exactly one "error:" line.
expect_one_error_line() {
	local n
	n=$(grep -c '^error: ' <<<"$ERR")
	if [ "$n" -eq 1 ]; then ok "$1: one error line"; else fail "$1: expected one 'error:' line, got $n"; fi
}
expect_eq() {
	if [ "$1" = "$2" ]; then ok "$3: '$1'"; else fail "$3: expected '$2', got '$1'"; fi
}

# need_dist: DIST is scripts/release.sh's output named by ROLLGUARD_DIST
# (scripts/test.sh builds one), VERSION and ARCH the ones its archive names
# carry; without it a failure in CI, a skip elsewhere.
need_dist() {
	DIST=${ROLLGUARD_DIST:-}
	VERSION=$(sed -n 's/^project(rollguard VERSION \([0-9.]*\).*/\1/p' "$e2e_root/CMakeLists.txt")
	ARCH=$(dpkg --print-architecture)
	[ -n "$DIST" ] && [ -f "$DIST/SHA256SUMS" ] && return 0
	if [ -n "${CI:-}" ]; then
		fail "ROLLGUARD_DIST does not name a release (scripts/test.sh builds one with scripts/release.sh)"
		finish
	fi
	echo "SKIPPED [$SUITE] no release: ROLLGUARD_DIST=\$(scripts/release.sh --out DIR --throwaway-key DIR2)"
	exit 0
}

# serve_dir DIR: DIR served on loopback as a release download site serves
# it (e2e/tools/serve_dir.py) until the suite exits; SERVE_URL is its URL.
serve_dir() {
	local port=$((20000 + RANDOM % 10000)) pid
	python3 "$e2e_root/e2e/tools/serve_dir.py" "$1" "$port" >/dev/null 2>&1 &
	pid=$!
	# shellcheck disable=SC2064 # the pid is fixed now
	trap "kill $pid 2>/dev/null; e2e_cleanup" EXIT
	SERVE_URL=http://127.0.0.1:$port
	for _ in $(seq 50); do
		curl -sf -o /dev/null "$SERVE_URL/" && return 0
		sleep 0.1
	done
	fail "serve_dir: nothing answers on $SERVE_URL"
}

finish() {
	if [ "$E2E_FAILURES" -ne 0 ]; then
		echo "$SUITE: $E2E_FAILURES failure(s)" >&2
		exit 1
	fi
	echo "$SUITE: passed"
	exit 0
}
