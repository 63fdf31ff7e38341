#!/usr/bin/env bash
# Set up reasoning-hub-kit here: bubblewrap (isolates the code under test) and the kit with its test tools.
#   bash setup.sh
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
else
  echo "no apt-get here: install bubblewrap with your package manager for the full sandbox" >&2
fi
command -v bwrap >/dev/null && bwrap --version
python3 -m pip install -q -e ".[dev]"
echo "ready: try  kit curate recipes/data/quickstart.yaml"
