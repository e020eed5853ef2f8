# Shared steps of the bench/ scripts (sourced, not run).
# shellcheck shell=bash
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_build DIR [TARGET...]: the release configuration, fully static
# (musl) as scripts/release.sh builds it, configured when DIR is new and
# brought up to date every time (so a benchmark never measures stale code).
bench_build() {
	local dir=$1 log
	shift
	log=$(mktemp)
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		local static_prefix
		static_prefix=$(bash "$bench_root/scripts/static-deps.sh")
		if ! CC=musl-gcc cmake -S "$bench_root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
			-DROLLGUARD_STATIC_PREFIX="$static_prefix" >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			return 1
		fi
	fi
	local targets=()
	for t in "$@"; do targets+=(--target "$t"); done
	if ! cmake --build "$dir" -j "$(nproc)" "${targets[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

# bench_cluster: the local control plane (e2e/cluster), started when it is
# not answering; exports KUBECONFIG and puts kubectl and helm on PATH.
bench_cluster() {
	# shellcheck source=../e2e/cluster/env.sh
	. "$bench_root/e2e/cluster/env.sh"
	if ! "$K8S_BIN/kubectl" get --raw /readyz >/dev/null 2>&1; then
		bash "$bench_root/e2e/cluster/up.sh" >&2
	fi
}

# bench_namespace NAME: creates namespace NAME for this script and deletes
# it (without waiting) when the script exits.
bench_namespace() {
	kubectl create namespace "$1" >/dev/null
	# shellcheck disable=SC2064 # the name now, not at exit
	trap "kubectl delete namespace '$1' --wait=false >/dev/null 2>&1" EXIT
}

# bench_positive NAME VALUE: exits 2 unless VALUE is a positive number.
bench_positive() {
	case $2 in
	'' | *[!0-9]* | 0)
		echo "${0##*/}: $1 must be a positive number, not '$2'" >&2
		exit 2
		;;
	esac
}
