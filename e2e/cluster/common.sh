# Shared settings of the local control plane scripts (sourced, not run).
# shellcheck shell=bash
cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$cluster_here/versions.env"
ROLLGUARD_CACHE=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
ROLLGUARD_CLUSTER_DIR=${ROLLGUARD_CLUSTER_DIR:-${TMPDIR:-/tmp}/rollguard-cluster}
K8S_BIN=$ROLLGUARD_CACHE/bin/k8s-$K8S_VERSION
ETCD_BIN=$ROLLGUARD_CACHE/bin/etcd-$ETCD_VERSION
KWOK_BIN=$ROLLGUARD_CACHE/bin/kwok-$KWOK_VERSION
KWOK_KUSTOMIZE=$ROLLGUARD_CACHE/gomod/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize
# Loopback ports, away from the defaults so a real local cluster is untouched.
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
APISERVER_PORT=${APISERVER_PORT:-16443}
KCM_PORT=${KCM_PORT:-20257}
SCHEDULER_PORT=${SCHEDULER_PORT:-20259}
KWOK_PORT=${KWOK_PORT:-20250}
# The order processes start in; down.sh stops them in reverse.
CLUSTER_COMPONENTS="etcd apiserver kcm scheduler kwok"
