# Source this to use the local cluster: exports KUBECONFIG and puts the
# built tools (kubectl, kwok) first on PATH.
# shellcheck shell=bash
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export KUBECONFIG=$ROLLGUARD_CLUSTER_DIR/kubeconfig
export PATH=$K8S_BIN:$KWOK_BIN:$PATH
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
