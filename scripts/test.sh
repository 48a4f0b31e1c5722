#!/usr/bin/env bash
# Install with the test tools, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/python -m pytest "$@"
