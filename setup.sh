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
if ! python3 -c "import torch" 2>/dev/null; then
  # PyTorch for the transformers teacher and the tiny models the tests build. Without CUDA only the CPU
  # build is wanted: its index avoids gigabytes of CUDA wheels (a machine with the wheel at hand uses it).
  python3 -m pip install -q --timeout 20 --retries 1 --extra-index-url https://download.pytorch.org/whl/cpu \
    "torch==2.13.0"
fi
python3 -m pip install -q -e ".[dev]"
echo "ready: try  kit curate recipes/data/quickstart.yaml"
