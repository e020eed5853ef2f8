#!/usr/bin/env bash
# Shell completion (SPEC §6) through the real clients: kubectl (>= 1.26)
# completes `kubectl canary ...` and `kubectl probecheck ...` only once
# `completion install` has linked kubectl_complete-<plugin> on PATH, and
# then with subcommands, flags, flag values and Deployment names from the
# cluster (-n typed on the line honoured); Helm 3 and Helm 4 complete
# `helm rollback-safe ...` through the plugin's plugin.complete with the
# release names and revisions of a release this suite installs; the bash,
# zsh and fish scripts of `completion bash|zsh|fish` complete the binaries
# run directly. A completion answer never writes to stderr and exits 0,
# also when the cluster cannot be reached.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CANARY=$BIN/kubectl-canary
PC=$BIN/kubectl-probecheck
for b in "$CANARY" "$PC" "$BIN/helm-rollback-safe"; do
	[ -x "$b" ] || { fail "$b not built"; finish; }
done

# The plugins as krew lays them out: copies in a directory of their own on
# PATH (the links land beside them).
PLUGINS=$E2E_TMP/plugins
mkdir -p "$PLUGINS"
cp "$CANARY" "$PC" "$PLUGINS/"
export PATH=$PLUGINS:$PATH

kubectl -n "$NS" create deployment web --image=registry.example/web:1 >/dev/null
kubectl -n "$NS" create deployment worker --image=registry.example/worker:1 >/dev/null
kubectl create namespace "$NS-empty" >/dev/null
trap 'kubectl delete namespace "$NS-empty" --wait=false >/dev/null 2>&1; e2e_cleanup' EXIT

# candidates: OUT's candidate values (no description, no directive line).
candidates() { grep -v '^:' <<<"$OUT" | cut -f1 | grep -v '^Completion ended' | sort | tr '\n' ' ' | sed 's/ $//'; }
# directive: OUT's ":N".
directive() { grep '^:[0-9]*$' <<<"$OUT" | tail -1; }
expect_candidates() { expect_eq "$(candidates)" "$1" "$2"; }
# expect_clean_answer what: exit 0 and nothing on stderr but kubectl's own
# "Completion ended" and "[Debug]" lines.
expect_clean_answer() {
	expect_rc 0 "$1"
	local extra
	extra=$(grep -v -e '^Completion ended with directive' -e '^\[Debug\] ' <<<"$ERR")
	expect_eq "$extra" "" "$1: nothing on stderr"
}

echo "# $(type -P kubectl) $(kubectl version --client -o json | jq -r .clientVersion.gitVersion)"

# --- before `completion install`: kubectl has no completion executable for
# the plugin, so it offers nothing of the plugin's.
run kubectl __complete canary ''
expect_rc 0 "before install: kubectl __complete canary ''"
expect_candidates "" "before install: no plugin candidates"
run kubectl __complete canary st
expect_candidates "" "before install: 'st' completes to nothing"

# --- completion install: the link, idempotent, refusals.
run kubectl canary completion install --dir "$PLUGINS"
expect_rc 0 "completion install"
expect_out "created $PLUGINS/kubectl_complete-canary -> kubectl-canary" "completion install says what it did"
expect_eq "$(readlink "$PLUGINS/kubectl_complete-canary")" "kubectl-canary" "the link names the plugin beside it"
run kubectl canary completion install --dir "$PLUGINS"
expect_rc 0 "completion install again"
expect_out "already links to kubectl-canary" "completion install is idempotent"
# Without --dir: the directory of the kubectl-probecheck found on PATH.
run kubectl probecheck completion install
expect_rc 0 "probecheck completion install (default directory)"
expect_eq "$(readlink "$PLUGINS/kubectl_complete-probecheck")" "kubectl-probecheck" "probecheck link beside the plugin"
# A file that is not a link to the plugin is never replaced.
OTHER=$E2E_TMP/other
mkdir -p "$OTHER"
echo 'not a link' >"$OTHER/kubectl_complete-canary"
run kubectl canary completion install --dir "$OTHER"
expect_rc 5 "install over a regular file"
expect_one_error_line "install over a regular file"
expect_eq "$(cat "$OTHER/kubectl_complete-canary")" "not a link" "the regular file is untouched"
ln -s /bin/true "$OTHER/kubectl_complete-probecheck"
run kubectl probecheck completion install --dir "$OTHER"
expect_rc 5 "install over a link to something else"
expect_eq "$(readlink "$OTHER/kubectl_complete-probecheck")" "/bin/true" "the foreign link is untouched"
# An older link to the plugin (another build) is replaced.
rm "$OTHER/kubectl_complete-canary"
ln -s /opt/old/kubectl-canary "$OTHER/kubectl_complete-canary"
run kubectl canary completion install --dir "$OTHER"
expect_rc 0 "install over an older link to the plugin"
expect_out "replaced" "the older link is replaced"
expect_eq "$(readlink "$OTHER/kubectl_complete-canary")" "$(readlink -f "$PLUGINS/kubectl-canary")" \
	"elsewhere the link names the running binary"
expect_err "is not on PATH" "a directory off PATH is warned about"
run kubectl canary completion install --dir "$E2E_TMP/nonexistent"
expect_rc 2 "--dir that does not exist"
run kubectl canary completion bash --dir "$PLUGINS"
expect_rc 2 "--dir without install"

# --- kubectl __complete through the link.
run kubectl __complete canary ''
expect_clean_answer "kubectl __complete canary ''"
expect_candidates "abort completion help history list promote run start status version" "canary subcommands"
expect_out $'start\tStart a canary run' "subcommands carry their summary"
expect_eq "$(directive)" ":4" "subcommands: no file completion"
run kubectl __complete canary st
expect_candidates "start status" "canary 'st'"
run kubectl __complete canary promote -n "$NS" ''
expect_clean_answer "promote -n NS ''"
expect_candidates "web worker" "promote: the Deployments of the namespace given with -n"
run kubectl __complete canary -n "$NS" status w
expect_candidates "web worker" "status: -n before the subcommand"
run kubectl __complete canary --namespace="$NS" start we
expect_candidates "web" "start: --namespace=NS and a prefix"
run kubectl __complete canary promote -n "$NS-empty" ''
expect_candidates "" "an empty namespace: no Deployments"
run kubectl __complete canary promote -n "$NS" web ''
expect_candidates "" "promote takes one Deployment"
run kubectl __complete canary start --rou
expect_candidates "--router" "flag names: --rou"
expect_out $'--router\tHow a weight becomes traffic' "flags carry their help"
run kubectl __complete canary start --router ''
expect_candidates "gateway istio nginx replicas smi" "--router values"
# --flag=VALUE: bare values, as cobra answers (its scripts put "--flag=" back)
run kubectl __complete canary start web --router=is
expect_candidates "istio" "--router=VALUE: the bare value"
run kubectl __complete canary start --router=
expect_candidates "gateway istio nginx replicas smi" "--router=: bare values"
run kubectl __complete canary start web --strategy ''
expect_candidates "blue-green canary" "--strategy values"
run kubectl __complete canary run web --on-timeout ''
expect_candidates "abort hold" "--on-timeout values"
run kubectl __complete canary status web -o ''
expect_candidates "json table wide yaml" "-o values of status"
run kubectl __complete canary run web -o ''
expect_candidates "json table" "-o values of run (table and json only)"
run kubectl __complete canary promote --patch ''
expect_eq "$(directive)" ":4" "an unknown flag: no candidates, no files"
run kubectl __complete canary start web --patch ''
expect_eq "$(directive)" ":0" "--patch FILE: the shell completes file names"
run kubectl __complete canary -n ''
expect_out "$NS" "-n values: namespaces from the cluster"
run kubectl __complete canary --context ''
expect_out "$(kubectl config current-context)" "--context values: the kubeconfig's contexts"
run kubectl __complete canary completion ''
expect_candidates "bash fish install zsh" "completion's arguments"

# probecheck: types, TYPE/NAME, TYPE NAME, --fail-on, check IDs.
run kubectl __complete probecheck ''
expect_clean_answer "kubectl __complete probecheck ''"
expect_candidates "audit checks completion cronjob deploy ds help job pod rc rs sts version" \
	"probecheck: subcommands and target types"
run kubectl __complete probecheck -n "$NS" deploy/
expect_candidates "deploy/web deploy/worker" "probecheck TYPE/NAME"
run kubectl __complete probecheck -n "$NS" deployments/wo
expect_candidates "deployments/worker" "probecheck TYPE/NAME with the type's long name"
run kubectl __complete probecheck -n "$NS" deploy w
expect_candidates "web worker" "probecheck TYPE NAME"
run kubectl __complete probecheck -n "$NS" deploy/web ''
expect_out "sts/" "after TYPE/NAME: more TYPE/ prefixes"
expect_eq "$(directive)" ":6" "TYPE/ prefixes: no space, no files"
run kubectl __complete probecheck deploy --fail-on ''
expect_candidates "error info never warning" "--fail-on values"
run kubectl __complete probecheck -o ''
expect_candidates "json junit sarif table wide yaml" "probecheck -o values"
run kubectl __complete probecheck checks probe-readiness-m
expect_candidates "probe-readiness-missing" "checks: check IDs"
run kubectl __complete probecheck deploy --skip probe-readiness-missing,probe-liveness-m
expect_candidates "probe-readiness-missing,probe-liveness-missing" "--skip: the last item of a list"

# --- the completion executable itself: nothing on stderr, exit 0, also
# when the cluster cannot be read; a token on the line is never echoed.
run "$PLUGINS/kubectl_complete-canary" --kubeconfig "$E2E_TMP/nonexistent" promote ''
expect_clean_answer "a missing kubeconfig"
expect_eq "$OUT" ":4" "a missing kubeconfig: no candidates, :4"
start=$(date +%s)
run "$PLUGINS/kubectl_complete-canary" --server https://127.0.0.1:1 --insecure-skip-tls-verify promote ''
expect_clean_answer "an unreachable server"
expect_eq "$OUT" ":4" "an unreachable server: no candidates, :4"
elapsed=$(($(date +%s) - start))
if [ "$elapsed" -le 3 ]; then ok "an unreachable server answers in ${elapsed}s"; else fail "unreachable server took ${elapsed}s"; fi
run "$PLUGINS/kubectl_complete-canary" --token sekret-token-e2e -n "$NS" promote --to
expect_clean_answer "a token on the line"
expect_no "sekret-token-e2e" "the token is not echoed"

# --- the scripts, for the binaries run directly.
run bash -c 'source <(kubectl-canary completion bash) || exit 9
	COMP_WORDS=(kubectl-canary st); COMP_CWORD=1; __kubectl_canary_complete
	printf "%s\n" "${COMPREPLY[@]}"'
expect_rc 0 "bash: source the script"
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "start status " "bash: subcommands"
run bash -c 'source <(kubectl-canary completion bash)
	COMP_WORDS=(kubectl-canary start web --router = is); COMP_CWORD=5; __kubectl_canary_complete
	printf "%s\n" "${COMPREPLY[@]}"'
expect_eq "$OUT" "istio" "bash: --router=VALUE split by bash at '='"
# bash_complete LINE WORD...: completes LINE (bash's COMP_LINE, given split
# into COMP_WORDS as bash splits it at COMP_WORDBREAKS) with the bash
# script; COMPREPLY one a line in OUT.
bash_complete() {
	run bash -c 'source <(kubectl-canary completion bash) || exit 9
		COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		__kubectl_canary_complete; printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}
bash_complete "kubectl-canary start --router=" kubectl-canary start --router =
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "gateway istio nginx replicas smi " "bash: --router= gives bare values"
bash_complete "kubectl-canary -n $NS start --image nginx:1.25 " kubectl-canary -n "$NS" start --image nginx : 1.25 ""
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "web worker " "bash: a word with ':' (split by bash) before the Deployment"
printf '%s\n' 'apiVersion: v1' 'kind: Config' \
	'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]' 'users: [{name: u, user: {}}]' \
	'contexts:' '- {name: "arn:aws:eks:alpha", context: {cluster: c, user: u}}' \
	'- {name: "arn:aws:eks:beta", context: {cluster: c, user: u}}' >"$E2E_TMP/colon.kubeconfig"
bash_complete "kubectl-canary --kubeconfig $E2E_TMP/colon.kubeconfig --context arn:aws:eks:a" \
	kubectl-canary --kubeconfig "$E2E_TMP/colon.kubeconfig" --context arn : aws : eks : a
expect_eq "$OUT" "alpha" "bash: a --context value with ':' completes what follows the last ':'"
bash_complete "kubectl-canary --kubeconfig=$E2E_TMP/colon.kubeconfig --context=arn:aws:eks:" \
	kubectl-canary --kubeconfig = "$E2E_TMP/colon.kubeconfig" --context = arn : aws : eks :
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "alpha beta " "bash: --context=VALUE with ':'"
mkdir -p "$E2E_TMP/files" && touch "$E2E_TMP/files/a.yaml" "$E2E_TMP/files/b.yaml"
run bash -c 'cd "$1" && source <(kubectl-canary completion bash)
	COMP_LINE="kubectl-canary --kubeconfig="; COMP_POINT=${#COMP_LINE}
	COMP_WORDS=(kubectl-canary --kubeconfig =); COMP_CWORD=2; __kubectl_canary_complete
	printf "%s\n" "${COMPREPLY[@]}"' bash "$E2E_TMP/files"
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "a.yaml b.yaml " "bash: --kubeconfig= completes file names"
run bash -c 'source <(kubectl-canary completion bash)
	COMP_WORDS=(kubectl-canary -n "$1" promote ""); COMP_CWORD=4; __kubectl_canary_complete
	printf "%s\n" "${COMPREPLY[@]}"' bash "$NS"
expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "web worker " "bash: Deployment names"
run bash -c 'source <(kubectl-probecheck completion bash)
	COMP_WORDS=(kubectl-probecheck -f ""); COMP_CWORD=2; cd "$1" && __kubectl_probecheck_complete
	printf "%s\n" "${COMPREPLY[@]}"' bash "$PLUGINS"
expect_out "kubectl-probecheck" "bash: -f FILE completes file names"

# missing_shell NAME: a skip on a developer's machine, a failure in CI
# (scripts/deps.sh installs zsh and fish).
missing_shell() {
	if [ -n "${CI:-}" ]; then fail "$1 not found (scripts/deps.sh installs it)"; else echo "SKIPPED [$SUITE] $1 not found"; fi
}
if command -v zsh >/dev/null 2>&1; then
	run zsh -n <(kubectl-canary completion zsh)
	expect_rc 0 "zsh -n: the script parses"
	# The completion system's _describe and _files are stood in for by
	# functions that print what they are given.
	run zsh -f -c 'compdef() { :; }; _describe() { print -rl -- "${(@P)4}"; }; _files() { print FILES; }
		source <(kubectl-canary completion zsh)
		words=(kubectl-canary -n "$1" promote ""); CURRENT=5; __kubectl_canary_complete' zsh "$NS"
	expect_rc 0 "zsh: the completion function"
	expect_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "web worker " "zsh: Deployment names"
	run zsh -f -c 'compdef() { :; }; _describe() { print -rl -- "${(@P)4}"; }; _files() { print FILES; }
		source <(kubectl-canary completion zsh)
		words=(kubectl-canary st); CURRENT=2; __kubectl_canary_complete'
	expect_out "start:Start a canary run" "zsh: value:description pairs"
	run zsh -f -c 'compdef() { :; }; _describe() { print -rl -- "$@"; }; _files() { print FILES; }
		source <(kubectl-canary completion zsh)
		words=(kubectl-canary start --router=is); CURRENT=3; __kubectl_canary_complete'
	expect_eq "$(tr '\n' ' ' <<<"$OUT")" "-t values values candidates -P --router= " \
		"zsh: --router=VALUE: bare values, --router= put before them"
else
	missing_shell zsh
fi
if command -v fish >/dev/null 2>&1; then
	run fish -c 'kubectl-canary completion fish | source; complete -C "kubectl-canary st"'
	expect_rc 0 "fish: complete -C"
	expect_eq "$(cut -f1 <<<"$OUT" | sort | tr '\n' ' ')" "start status " "fish: subcommands"
	run fish -c "kubectl-canary completion fish | source; complete -C 'kubectl-canary promote -n $NS '"
	expect_eq "$(cut -f1 <<<"$OUT" | sort | tr '\n' ' ')" "web worker " "fish: Deployment names"
	run fish -c 'kubectl-canary completion fish | source; complete -C "kubectl-canary start --router=i"'
	expect_eq "$(cut -f1 <<<"$OUT" | sort | tr '\n' ' ')" "--router=istio " "fish: --router=VALUE"
else
	missing_shell fish
fi

run kubectl canary completion --help
expect_rc 0 "completion --help"
expect_out "Examples:" "completion --help has examples"
expect_out "kubectl canary completion install" "completion --help shows install"

# --- Helm: plugin.complete, installed with the plugin directory by
# e2e/rollback.sh into private Helm 3 and Helm 4 homes.
missing=""
for tool in helm3 helm4; do command -v "$tool" >/dev/null 2>&1 || missing+=" $tool"; done
if [ -n "$missing" ]; then
	if [ -n "${CI:-}" ]; then fail "not found:$missing (e2e/cluster/build.sh helm)"; else echo "SKIPPED [$SUITE] Helm part: not found:$missing"; fi
	finish
fi
# shellcheck source=../rollback.sh
. "$e2e_root/e2e/rollback.sh"
HELM=helm3
rs_ns rel || finish
rs_install shop --set "image=registry.example/shop:1"
rs_upgrade shop --set "image=registry.example/shop:2"
for h in helm3 helm4; do
	rs_run "$h" __complete rollback-safe -n "$RS_NS" ''
	expect_rc 0 "$h __complete rollback-safe ''"
	expect_candidates "completion help history plan rollback shop unlock version" "$h: subcommands and the release"
	rs_run "$h" __complete rollback-safe history -n "$RS_NS" s
	expect_candidates "shop" "$h: history RELEASE"
	rs_run "$h" __complete rollback-safe rollback shop -n "$RS_NS" ''
	expect_candidates "1 2" "$h: rollback RELEASE REVISION"
	expect_out $'1\tsuperseded' "$h: revisions carry their status"
	rs_run "$h" __complete rollback-safe shop --namespace "$RS_NS" ''
	expect_candidates "1 2" "$h: the default command's REVISION"
	rs_run "$h" __complete rollback-safe -n "$RS_NS" plan --o
	expect_candidates "--output --output-file" "$h: flags"
done
rs_run helm4 __complete rollback-safe -n "$NS-empty" ''
expect_candidates "completion help history plan rollback unlock version" "no releases: the subcommands only"
run "$BIN/helm-rollback-safe" completion bash
expect_out "complete -F __helm_rollback_safe_complete helm-rollback-safe" "helm-rollback-safe completion bash"
run "$BIN/helm-rollback-safe" completion install
expect_rc 2 "helm-rollback-safe has no completion install"

finish
