#!/usr/bin/env bash
# The whole benchmark suite in one run: builds rollguard's release binaries
# and the peers (bench/peers.sh), generates every input, runs each pair
# side by side, and writes bench/results/results.{md,json} and
# scaling.png. See bench/README.md.
#
#   bench/run.sh [--quick] [--only LIST] [--out DIR] [--build DIR]
#
#   --quick      fewer repetitions and smaller inputs (a smoke run, not figures to quote)
#   --only LIST  comma-separated sections: cold_start, offline, rollback_plan,
#                canary_promote, canary_detect, probecheck_cluster (default: all);
#                the others' figures from an earlier run stay in the report
#   --out DIR    where the results go (default bench/results)
#   --build DIR  the release build to measure (default build-bench)
#
# Needs: root or sudo for apt (hyperfine, gnuplot-nox, valgrind, time,
# musl-tools), Go for the peers and the local control plane. Not part of
# the test suite; ~25 minutes on a 2-core machine with warm caches.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
quick=0
only=cold_start,offline,rollback_plan,canary_promote,canary_detect,probecheck_cluster
out=$here/results
build=$bench_root/build-bench
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--only) only=${2:?--only needs a list}; shift ;;
	--only=*) only=${1#--only=} ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--out=*) out=${1#--out=} ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	--build=*) build=${1#--build=} ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for s in ${only//,/ }; do
	case $s in
	cold_start | offline | rollback_plan | canary_promote | canary_detect | probecheck_cluster) ;;
	*) echo "bench/run.sh: unknown section '$s'" >&2; exit 2 ;;
	esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }

# --- tools
missing=()
for pair in hyperfine:hyperfine gnuplot:gnuplot-nox valgrind:valgrind musl-gcc:musl-tools; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench: installing ${missing[*]}" >&2
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# Each section's figures stay in $out/sections: a run with --only
# replaces those sections and the report is made from all of them.
sections=$out/sections
mkdir -p "$sections"
export BENCH_SECTIONS=$sections
# shellcheck source=../e2e/cluster/common.sh
. "$bench_root/e2e/cluster/common.sh"
[ -x "$K8S_BIN/kubectl" ] || bash "$bench_root/e2e/cluster/build.sh" k8s >&2
echo "bench: building rollguard (static release) into $build" >&2
bench_build "$build"
echo "bench: building the peers" >&2
peers=$(bash "$here/peers.sh")

if [ "$quick" = 1 ]; then
	runs=3 cold_runs=10 sizes="500 5000" cluster_n=500 plan_runs=5 trials=2
else
	runs=5 cold_runs=30 sizes="500 5000 50000" cluster_n=5000 plan_runs=10 trials=5
fi

started=$(date +%s)
# the checkout as measured: "-dirty" for changes outside bench/results,
# where the sections write (an earlier --only run leaves its figures there)
BENCH_COMMIT=$(git -C "$bench_root" describe --always 2>/dev/null || echo unknown)
if [ -n "$(git -C "$bench_root" status --porcelain -- . ':(exclude)bench/results' 2>/dev/null)" ]; then
	BENCH_COMMIT+=-dirty
fi
export BENCH_COMMIT
section() {
	echo "bench: == $1 ($(($(date +%s) - started)) s)" >&2
}
if wants cold_start; then section cold_start; bash "$here/cold_start.sh" "$build" "$cold_runs"; fi
if wants offline; then section offline; bash "$here/probecheck_offline.sh" "$build" "$runs" "$sizes"; fi
if wants rollback_plan || wants canary_promote || wants canary_detect || wants probecheck_cluster; then
	bench_cluster
fi
if wants rollback_plan; then section rollback_plan; bash "$here/rollback_plan.sh" "$build" "$plan_runs"; fi
if wants canary_promote; then section canary_promote; bash "$here/canary_promote.sh" "$build" "$trials"; fi
if wants canary_detect; then section canary_detect; bash "$here/canary_detect.sh" "$build" "$trials"; fi
if wants probecheck_cluster; then
	section probecheck_cluster
	bash "$here/probecheck_cluster.sh" "$build" "$runs" "$cluster_n"
fi

# --- versions of everything measured, for the report
{
	echo "rollguard: $BENCH_COMMIT"
	echo "kubectl: $("$K8S_BIN/kubectl" version --client -o json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null || echo unknown)"
	echo "helm: $HELM4_VERSION"
	if [ -f "$peers/VERSIONS" ]; then
		while read -r name version _; do echo "$name: $version"; done <"$peers/VERSIONS"
	fi
} >"$sections/versions.txt"
BENCH_DATE=$(date -u +%Y-%m-%d) python3 "$here/report.py" "$sections" "$out"
echo "bench: done in $(($(date +%s) - started)) s: $out/results.md" >&2
