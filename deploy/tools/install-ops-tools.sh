#!/usr/bin/env bash
# Installs the tools the deployment tests use (tests/deploy), idempotently and only from the
# package registries: Helm built from its Go module into .local/tools/bin, and promtool from
# Debian's prometheus package. kubernetes-validate (the Kubernetes schemas, offline) comes with the
# dev group of the root pyproject (`uv sync`). Nothing is downloaded when the tests run.
#
#   deploy/tools/install-ops-tools.sh           install what is missing
#   deploy/tools/install-ops-tools.sh check     exit 1 naming what is missing
set -euo pipefail

HELM_VERSION="v4.3.2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$ROOT/.local/tools/bin"
HELM="$BIN/helm"

say() { echo "[ops-tools] $*"; }

helm_ok() {
    [[ -x "$HELM" ]] && "$HELM" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"
}

promtool_ok() { command -v promtool >/dev/null 2>&1; }

install_helm() {
    if helm_ok; then
        say "helm $HELM_VERSION present: $HELM"
        return
    fi
    command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
    command -v go >/dev/null 2>&1 || { say "go is needed to build helm (not found)"; exit 1; }
    mkdir -p "$BIN"
    say "building helm $HELM_VERSION from helm.sh/helm/v4 (go install; a few minutes on 2 cores)"
    # The version string is stamped the way Helm's own Makefile does; without it `helm version`
    # reports the module default.
    GOBIN="$BIN" GOFLAGS=-mod=mod CGO_ENABLED=0 go install \
        -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
    helm_ok || { say "helm built but does not report $HELM_VERSION"; exit 1; }
    say "helm $HELM_VERSION installed: $HELM"
}

install_promtool() {
    if promtool_ok; then
        say "promtool present: $(command -v promtool)"
        return
    fi
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    # Only promtool is wanted: keep the package's server from being started by its postinst.
    local policy=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod +x "$policy"
        created=1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus
    [[ $created -eq 1 ]] && $sudo rm -f "$policy"
    promtool_ok || { say "prometheus installed but promtool is not on PATH"; exit 1; }
    say "promtool installed: $(command -v promtool)"
}

case "${1:-install}" in
    install)
        install_helm
        install_promtool
        ;;
    check)
        missing=0
        helm_ok || { say "missing: helm $HELM_VERSION at $HELM (make ops-tools)"; missing=1; }
        promtool_ok || { say "missing: promtool (make ops-tools)"; missing=1; }
        exit $missing
        ;;
    *)
        echo "usage: $0 [install|check]" >&2
        exit 2
        ;;
esac
