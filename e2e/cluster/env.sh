# Source this to use the local cluster: exports KUBECONFIG and puts the
# built tools (kubectl, kwok, helm3 and helm4 once `build.sh helm` has built
# them, and prometheus and promtool once `build.sh prometheus` has unpacked
# them) first on PATH. There is no plain `helm`: tests name the major.
# shellcheck shell=bash
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export KUBECONFIG=$ROLLGUARD_CLUSTER_DIR/kubeconfig
export PATH=$K8S_BIN:$KWOK_BIN:$ROLLGUARD_CACHE/bin/helm3-$HELM3_VERSION:$ROLLGUARD_CACHE/bin/helm4-$HELM4_VERSION:$PATH
# Debian's prometheus, unpacked by `build.sh prometheus` (not part of `all`).
PROMETHEUS_BIN=$ROLLGUARD_CACHE/bin/prometheus/usr/bin
if [ -x "$PROMETHEUS_BIN/prometheus" ]; then export PATH=$PROMETHEUS_BIN:$PATH; fi
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
