#!/usr/bin/env bash
# Extra system packages the test suite needs beyond the Python environment: Debian's chromium
# for the manager-inbox browser test. Idempotent; a no-op when already installed.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test-setup] installing Debian chromium for the browser test" >&2
  sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
