#!/usr/bin/env bash
# e2e suites with the product binaries under a memory checker, against the
# running local cluster (e2e/cluster/up.sh; env.sh's settings):
#
#   scripts/e2e-checked.sh asan BUILD [SUITE...]
#       BUILD was configured with -DSANITIZE=address,undefined and
#       -DROLLGUARD_TESTING=ON; every suite runs its binaries
#   scripts/e2e-checked.sh valgrind BUILD [SUITE...]
#       BUILD is a test build (-DROLLGUARD_TESTING=ON); the three plugin
#       binaries run under valgrind memcheck (wrappers in a bin dir of
#       their own, so Helm runs the wrapped plugin too)
#
# SUITE is a name like test_canary (default: every e2e suite for asan, one
# scenario per plugin for valgrind). A checker's report never hides in an
# exit code a test expects (1 is a verdict): ASan/UBSan and valgrind write
# their reports to files here, and the run fails when any report shows an
# error or a definite leak, whatever the suites said.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-}
build=${2:-}
if [ -z "$mode" ] || [ -z "$build" ] || [ ! -x "$build/kubectl-canary" ]; then
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
build=$(cd "$build" && pwd)
shift 2
suites=("$@")
# shellcheck source=../e2e/cluster/env.sh
. "$root/e2e/cluster/env.sh"
reports=$(mktemp -d "${TMPDIR:-/tmp}/rollguard-checked.XXXXXX")
bin=$build
case $mode in
asan)
	[ ${#suites[@]} -gt 0 ] || mapfile -t suites < <(cd "$root/e2e/suites" && ls test_*.sh | sed 's/\.sh$//')
	# handle_segv=0: test_redaction kills the plugins with SIGSEGV to prove
	# no core file is written; ASan's handler would turn that into a report
	# and exit 99 (a real crash still kills the process, and the suite sees it)
	export ASAN_OPTIONS="log_path=$reports/asan:exitcode=99:detect_leaks=1:handle_segv=0"
	export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=99"
	;;
valgrind)
	[ ${#suites[@]} -gt 0 ] || suites=(test_canary test_probecheck_cluster test_rollback_basic)
	bin=$reports/bin
	mkdir -p "$bin"
	# everything of the build dir, with the three plugins wrapped
	for entry in "$build"/*; do ln -s "$entry" "$bin/"; done
	for b in kubectl-canary kubectl-probecheck helm-rollback-safe; do
		rm -f "$bin/$b"
		cat >"$bin/$b" <<SH
#!/bin/sh
exec valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --trace-children=no --log-file=$reports/valgrind.%p "$build/$b" "\$@"
SH
		chmod +x "$bin/$b"
	done
	;;
*)
	echo "e2e-checked.sh: unknown mode $mode (asan or valgrind)" >&2
	exit 2
	;;
esac

status=0
for suite in "${suites[@]}"; do
	started=$SECONDS
	if ROLLGUARD_BIN_DIR=$bin KUBE_DRIVER=$build/tests/kube-driver NO_COLOR=1 \
		timeout 1800 bash "$root/e2e/suites/$suite.sh" >"$reports/$suite.log" 2>&1; then
		echo "ok   $suite ($((SECONDS - started)) s)"
	elif [ $? -eq 77 ]; then
		echo "skip $suite: $(tail -1 "$reports/$suite.log")"
	else
		echo "FAIL $suite ($((SECONDS - started)) s): $reports/$suite.log"
		grep -E '^FAIL' "$reports/$suite.log" | head -5 | sed 's/^/    /'
		status=1
	fi
done

# the checkers' own verdicts
found=0
for f in "$reports"/asan.* "$reports"/ubsan.*; do
	[ -s "$f" ] || continue
	echo "== $(basename "$f")"
	head -40 "$f"
	found=1
done
for f in "$reports"/valgrind.*; do
	[ -s "$f" ] || continue
	if grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$f"; then
		echo "== $(basename "$f")"
		head -60 "$f"
		found=1
	fi
done
runs=$(find "$reports" -maxdepth 1 -name 'valgrind.*' | wc -l)
[ "$mode" = valgrind ] && echo "valgrind: $runs processes checked"
if [ "$found" -eq 1 ]; then
	echo "e2e-checked.sh: the $mode reports above show errors (all reports in $reports)" >&2
	exit 1
fi
[ "$status" -eq 0 ] && rm -rf "$reports"
exit "$status"
