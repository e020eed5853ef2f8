#!/usr/bin/env bash
# The docs against the binaries (docs/man/README.md has the convention):
#   a) every man page source in docs/man/ has the fixed structure, renders
#      with groff (and mandoc, when installed) without a warning, and its
#      OPTIONS list exactly the long flags its command's --help lists; every
#      command the binaries list has a page, and every page a command;
#   b) no command example sits outside a ```sh block in docs/;
#   c) every "$ " example of docs/man/*.md and docs/*.md runs, through the
#      real kubectl (plugin discovery) and Helm (the plugin installed), in a
#      namespace of its page's own, from the fixture the page names, and
#      exits as documented, with nothing on stderr unless it says "(stderr)";
#      examples marked not-run are counted and their reasons printed;
#   d) every rollguard.io/v1 JSON document those examples wrote (stdout and
#      --output-file) validates against docs/schemas/<kind>.json, and every
#      kind of SPEC §1.3 was seen at least once;
#   e) the kill points of the crash tests: the "Kill points" tables of
#      docs/canary.md and docs/rollback-safe.md name exactly the points of
#      canary_kill_point("...") and rollback_kill_point("...") in the
#      sources, and each point is used by some e2e suite that sets
#      ROLLGUARD_TEST_KILL_AT (an untested kill point fails here).
# Helm pages run with helm4; helm-rollback-safe.md runs again with helm3.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../canary.sh
. "$(dirname "$0")/../canary.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"

ROOT=$e2e_root
DOCS=$ROOT/docs
PAGES=$(cd "$DOCS/man" && ls kubectl-*.md helm-*.md)
PAGE_FILES=()
for page in $PAGES; do PAGE_FILES+=("$DOCS/man/$page"); done
EXAMPLE_TIMEOUT=${DOCS_EXAMPLE_TIMEOUT:-90}
KINDS="ProbeReport CheckCatalog CanaryStatus CanaryList CanaryHistory CanaryEvent RollbackPlan RollbackResult ReleaseHistory Version"

# --- a) structure, rendering, flags against --help.
run python3 "$ROOT/scripts/man.py" check "${PAGE_FILES[@]}"
expect_rc 0 "man.py check: every page has the fixed structure"
MAN_OUT=$E2E_TMP/man
run python3 "$ROOT/scripts/man.py" build --version test --out "$MAN_OUT" "${PAGE_FILES[@]}"
expect_rc 0 "man.py build"
expect_eq "$(find "$MAN_OUT" -name '*.1' | wc -l)" "$(wc -w <<<"$PAGES")" "one man page per source"
if type -P groff >/dev/null; then
	for f in "$MAN_OUT"/*.1; do
		run groff -man -Tutf8 -ww -z "$f"
		if [ "$RC" -eq 0 ] && [ -z "$ERR" ]; then ok "groff -ww: $(basename "$f") renders without warnings"; else fail "groff -ww: $(basename "$f")"; fi
	done
else
	echo "note [$SUITE] groff not installed: rendering not checked"
fi
if type -P mandoc >/dev/null; then
	run mandoc -Tlint -W warning "$MAN_OUT"/*.1
	if [ -z "$OUT$ERR" ]; then ok "mandoc -Tlint: no warnings"; else fail "mandoc -Tlint"; fi
fi
# man -l reads the generated page (what `man` shows after install).
if type -P man >/dev/null; then
	run env MANWIDTH=80 man -l "$MAN_OUT/kubectl-canary.1"
	expect_out "kubectl-canary - controller-less progressive delivery" "man -l kubectl-canary.1"
fi

# page_commands PAGE: BINARY and the command paths whose --help the page's
# OPTIONS mirror ("." the binary itself), from the file name or the page's
# <!-- commands: ... --> line.
page_binary() {
	case $1 in
	kubectl-canary*) echo kubectl-canary ;;
	kubectl-probecheck*) echo kubectl-probecheck ;;
	helm-rollback-safe*) echo helm-rollback-safe ;;
	esac
}
page_commands() {
	local bin sub listed
	bin=$(page_binary "$1")
	listed=$(sed -n 's/^<!-- *commands:\(.*\)-->$/\1/p' "$DOCS/man/$1")
	# shellcheck disable=SC2086 # the words, one line
	if [ -n "$listed" ]; then echo $listed; return; fi
	sub=${1%.md}
	sub=${sub#"$bin"}
	echo "${sub#-}" | sed 's/^$/./'
}
for page in $PAGES; do
	bin=$(page_binary "$page")
	want=""
	for cmd in $(page_commands "$page"); do
		if [ "$cmd" = . ]; then help=$("$BIN/$bin" --help 2>&1); else help=$("$BIN/$bin" "$cmd" --help 2>&1); fi
		want+=$(python3 "$ROOT/scripts/man.py" help-flags <<<"$help")$'\n'
	done
	want=$(sort -u <<<"$want" | sed '/^$/d')
	have=$(python3 "$ROOT/scripts/man.py" flags "$DOCS/man/$page")
	missing=$(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')
	extra=$(comm -13 <(echo "$want") <(echo "$have") | tr '\n' ' ')
	if [ -z "$want" ]; then
		RC=""; OUT=""; ERR=""
		fail "$page: $bin $(page_commands "$page") --help lists no flags (no such command?)"
	elif [ -z "$missing$extra" ]; then
		ok "$page: OPTIONS = the flags of '$bin $(page_commands "$page") --help'"
	else
		RC=""; OUT=""; ERR=""
		fail "$page: OPTIONS drift from --help: missing [${missing% }] not in --help [${extra% }]"
	fi
done
for bin in kubectl-canary kubectl-probecheck helm-rollback-safe; do
	for cmd in $("$BIN/$bin" --help | python3 "$ROOT/scripts/man.py" help-commands); do
		if [ -f "$DOCS/man/$bin-$cmd.md" ] || grep -qE "^<!-- *commands:.* $cmd( |-->)" "$DOCS/man/$bin.md"; then
			ok "$bin $cmd has a man page"
		else
			RC=""; OUT=""; ERR=""
			fail "$bin $cmd has no man page (docs/man/$bin-$cmd.md)"
		fi
	done
done

# --- b) examples outside the convention.
run python3 "$ROOT/scripts/doc_examples.py" lint "$DOCS"/*.md "${PAGE_FILES[@]}"
expect_rc 0 "every command example is in a \`\`\`sh block"

# --- e) the kill points: docs = sources, each one tested. (Static, so
# it runs before the examples.)
# kill_points_doc FILE: the first column of the table under "### Kill points".
kill_points_doc() {
	awk '/^### Kill points/ {on = 1; next} /^#/ {on = 0} on' "$1" | sed -n 's/^| `\([a-z0-9-]*\)` |.*/\1/p' | sort -u
}
# kill_points_src FUNCTION DIR: the names the sources pass to FUNCTION.
kill_points_src() {
	grep -ohE "$1\(\"[^\"]+\"\)" "$ROOT/$2"/*.c | sed -E 's/.*\("(.*)"\)/\1/' | sort -u
}
for kp in "canary_kill_point plugins/canary docs/canary.md" "rollback_kill_point plugins/rollback-safe docs/rollback-safe.md"; do
	read -r kp_fn kp_dir kp_doc <<<"$kp"
	src=$(kill_points_src "$kp_fn" "$kp_dir")
	doc=$(kill_points_doc "$ROOT/$kp_doc")
	RC=""; OUT=""; ERR=""
	if [ -z "$src" ]; then
		fail "kill points: no $kp_fn(\"...\") in $kp_dir"
	elif [ "$src" = "$doc" ]; then
		ok "kill points: $kp_doc names the $(wc -l <<<"$src") kill points of $kp_dir"
	else
		fail "kill points: $kp_doc and $kp_dir differ: only in the sources [$(comm -23 <(echo "$src") <(echo "$doc") | tr '\n' ' ')] only in the docs [$(comm -13 <(echo "$src") <(echo "$doc") | tr '\n' ' ')]"
	fi
	untested=""
	for point in $src; do
		grep -lF -- "$point" "$ROOT"/e2e/suites/test_*.sh | grep -v '/test_docs\.sh$' |
			xargs -r grep -l 'ROLLGUARD_TEST_KILL_AT' >/dev/null || untested+=" $point"
	done
	if [ -z "$untested" ]; then ok "kill points: every one of $kp_dir is used by an e2e suite"; else fail "kill points of $kp_dir no e2e suite uses:$untested"; fi
done

# --- c) the examples.
# The binaries as a user has them: on PATH for kubectl's plugin discovery,
# and `helm` running helm4 (or helm3) with this suite's homes, in which
# rollback.sh installed the plugin.
DOCS_BIN=$E2E_TMP/docs-bin
mkdir -p "$DOCS_BIN"
ln -s "$BIN/kubectl-canary" "$DOCS_BIN/kubectl-canary"
ln -s "$BIN/kubectl-probecheck" "$DOCS_BIN/kubectl-probecheck"
docs_helm() {
	rs_argv "$1"
	{
		echo '#!/bin/sh'
		printf 'exec'
		printf ' %q' "${RS_ARGV[@]}"
		printf ' "$@"\n'
	} >"$DOCS_BIN/helm"
	chmod +x "$DOCS_BIN/helm"
}
rs_stages

# fixture NAME: the state a page's examples start from, in RS_NS.
fixture() {
	local dir=$DOCS/examples
	case $1 in
	none | "") ;;
	canary | canary-run)
		APP_SERVICE=1 app web 4
		if [ "$1" = canary-run ]; then
			"$CANARY" -n "$RS_NS" start web --image app=registry.example/web:2.0 --steps 25,50,100 --pause 10m >/dev/null ||
				{ fail "fixture $1: start"; return 1; }
		fi
		;;
	probecheck)
		if ! kubectl -n "$RS_NS" apply -f "$dir/probecheck/api.yaml" -f "$dir/probecheck/deploy.yaml" >/dev/null ||
			! kubectl -n "$RS_NS" rollout status deploy/api --timeout=60s >/dev/null; then
			fail "fixture $1"
			return 1
		fi
		;;
	rollback)
		# revision 3: an upgrade to pods that never become Ready, which
		# Helm's --wait gives up on (rollback.sh's rs_failed_upgrade, with
		# a shorter wait: nothing here depends on its length)
		rs_install web --set image=registry.example/web:1 &&
			rs_upgrade web --set image=registry.example/web:2 || return 1
		rs_run "$HELM" upgrade web "$RS_CHART" -n "$RS_NS" --wait --timeout 2s \
			--set "podStage=$RS_NOTREADY" --set image=registry.example/web:3
		[ "$(rs_status_of web 3)" = failed ] || { fail "fixture $1: revision 3 is $(rs_status_of web 3), not failed"; return 1; }
		;;
	rollback-pending)
		rs_install web --set image=registry.example/web:1 && rs_stuck_pending_upgrade web --set image=registry.example/web:2
		;;
	*)
		fail "unknown fixture '$1'"
		return 1
		;;
	esac
}

OUTS=$E2E_TMP/outputs
mkdir -p "$OUTS"
RUN_COUNT=0
SKIP_COUNT=0
SKIPS=""
N=0
PAGE_NO=0
# run_page FILE HELM: the examples of one file, in order, from its fixture.
run_page() {
	local file=$1 page tag work examples fix ex cmd want_rc want_err skip line
	page=$(basename "$file" .md)
	examples=$(python3 "$ROOT/scripts/doc_examples.py" extract "$file") || { fail "$file: extract"; return; }
	[ -n "$examples" ] || return
	if [ -z "$(jq -r 'select(.skip == null) | .line' <<<"$examples")" ]; then
		while IFS= read -r ex; do
			SKIP_COUNT=$((SKIP_COUNT + 1))
			SKIPS+="  ${file#"$ROOT"/}:$(jq -r .line <<<"$ex"): $(jq -r .skip <<<"$ex")"$'\n'
		done <<<"$examples"
		return
	fi
	HELM=$2
	docs_helm "$HELM"
	PAGE_NO=$((PAGE_NO + 1))
	tag=$PAGE_NO-$(echo "$page" | tr -c 'a-z0-9\n' '-' | cut -c1-16)
	rs_ns "$tag-${HELM#helm}" || return
	work=$E2E_TMP/work/$page-$HELM
	mkdir -p "$work/.krew/bin" "$work/.kube"
	case $page in
	*canary*) cp -r "$DOCS/examples/canary/." "$work/" ;;
	*probecheck*) cp -r "$DOCS/examples/probecheck/." "$work/" ;;
	esac
	cp -r "$ROOT/e2e/charts/rsdemo" "$work/chart"
	# A kubeconfig whose context points at the page's namespace.
	kubectl config view --raw >"$work/.kube/config"
	chmod 600 "$work/.kube/config" # a group/world-readable one gets a warning, as in Helm
	KUBECONFIG=$work/.kube/config kubectl config set-context --current --namespace "$RS_NS" >/dev/null
	local page_start=$SECONDS
	fix=$(jq -r '.fixture // "none"' <<<"$examples" | head -1)
	fixture "$fix" || return
	echo "# ${file#"$ROOT"/} ($HELM, fixture $fix ready after $((SECONDS - page_start)) s, namespace $RS_NS)"
	while IFS= read -r ex; do
		line=$(jq -r .line <<<"$ex")
		skip=$(jq -r '.skip // empty' <<<"$ex")
		if [ -n "$skip" ]; then
			SKIP_COUNT=$((SKIP_COUNT + 1))
			SKIPS+="  ${file#"$ROOT"/}:$line: $skip"$'\n'
			continue
		fi
		# "-n shop" in an example is the page's namespace.
		cmd=$(jq -r .command <<<"$ex" | sed -E "s/(^|[[:space:]])(-n|--namespace)([ =])shop([[:space:]]|$)/\1\2\3$RS_NS\4/g")
		want_rc=$(jq -r .exit <<<"$ex")
		want_err=$(jq -r .stderr <<<"$ex")
		N=$((N + 1))
		run env -C "$work" HOME="$work" KUBECONFIG="$work/.kube/config" PATH="$DOCS_BIN:$PATH" \
			timeout -k 5 "$EXAMPLE_TIMEOUT" bash -o pipefail -c "$cmd"
		RUN_COUNT=$((RUN_COUNT + 1))
		printf '%s\n' "$OUT" >"$OUTS/$N.out"
		local what="${file#"$ROOT"/}:$line \$ $cmd"
		if [ "$RC" -ne "$want_rc" ]; then
			fail "$what: exit $RC, the docs say $want_rc"
		elif [ "$RC" -eq 0 ] && [ "$want_err" != true ] && [ -n "$ERR" ]; then
			fail "$what: writes to stderr (mark it '(stderr)' if that is documented)"
		else
			ok "$what: exit $RC"
		fi
	done <<<"$examples"
	# Reports the examples wrote with --output-file.
	find "$work" -maxdepth 1 -type f \( -name '*.json' -o -name '*.jsonl' \) -exec cp {} "$OUTS/" \;
}

start=$SECONDS
# DOCS_ONLY=REGEX runs the examples of the matching files only (while
# writing docs); the schema coverage check then reports what it missed.
only() { [[ $1 =~ ${DOCS_ONLY:-.} ]]; }
for page in $PAGES; do
	only "$page" && run_page "$DOCS/man/$page" helm4
done
for doc in "$DOCS"/*.md; do only "$(basename "$doc")" && run_page "$doc" helm4; done
only helm-rollback-safe.md && run_page "$DOCS/man/helm-rollback-safe.md" helm3
echo "# examples: $RUN_COUNT run, $SKIP_COUNT not run, in $((SECONDS - start)) s"
[ -z "$SKIPS" ] || printf 'not run:\n%s' "$SKIPS"

# --- d) the documents the examples wrote, against their schemas.
run python3 "$ROOT/scripts/schema_check.py" "$DOCS/schemas" "$OUTS"/*
expect_rc 0 "every rollguard.io/v1 document validates against docs/schemas"
echo "$OUT" | sed 's/^/# schema: /'
for kind in $KINDS; do
	if grep -q "^$kind [1-9]" <<<"$OUT"; then ok "schema: $kind seen and valid"; else fail "schema: no $kind document among the examples' outputs"; fi
done
# The check can fail: a document with a field of the wrong type does not pass.
jq -c '.kind = "Version" | .binary = 7' <<<'{"apiVersion":"rollguard.io/v1"}' >"$E2E_TMP/bad.json"
run python3 "$ROOT/scripts/schema_check.py" "$DOCS/schemas" "$E2E_TMP/bad.json"
expect_rc 1 "schema check rejects a broken Version document"

finish
