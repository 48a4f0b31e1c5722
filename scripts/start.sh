#!/usr/bin/env bash
# The main job on a fresh machine: install, index seeds/, answer a sample question with citations.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rag index seeds/
.venv/bin/rag ask "How did the US role in the talks change under Trump?"
