#!/usr/bin/env bash
# The main job on a fresh machine: install, index seeds/ (incremental: seconds when unchanged),
# answer a sample question in the terminal, then open the chat window on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rag index seeds/
.venv/bin/rag ask "How did the US role in the talks change under Trump?"
exec .venv/bin/rag chat "$@"
