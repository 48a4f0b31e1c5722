#!/usr/bin/env bash
# Create .venv and install the project into it. Idempotent: a second run is quick.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh dev      plus the test tools
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# Pin torch to its CPU wheel first: an unpinned install resolves to a CUDA build with
# gigabytes of NVIDIA libraries. (Elsewhere, add --index-url https://download.pytorch.org/whl/cpu.)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    pip install "torch==2.13.0"
fi
extras=""
[ "${1:-}" = "dev" ] && extras="[dev]"
pip install -e ".${extras}"
