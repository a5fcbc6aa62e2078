#!/usr/bin/env bash
# Create .venv and install repro with its pinned stack. Safe to run again (fast when done).
#
# torch: if the venv has none, we install torch==2.13.0, which on CPU-only machines like
# ours is a CPU build from local disk. On a GPU machine, install the torch you want into
# .venv first (e.g. `.venv/bin/pip install torch`) and this script keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PY" --version 2>&1)"
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1

pip_install() {
  # hide pip's warnings about package index folders this machine's pip.conf names but lacks
  set +o pipefail
  .venv/bin/pip install -q "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  local rc=${PIPESTATUS[0]}
  set -o pipefail
  return "$rc"
}
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch==2.13.0"
  pip_install "torch==2.13.0"
fi
if ! .venv/bin/python -c "import repro, runners, transformers, peft, mlflow, dvc" >/dev/null 2>&1 \
   || [ requirements.lock.txt -nt .venv/.repro-installed ] || [ pyproject.toml -nt .venv/.repro-installed ]; then
  echo "setup: installing repro and its pinned dependencies (a minute or two the first time)"
  pip_install -r requirements.lock.txt -e ".[dev]"
  touch .venv/.repro-installed
fi
echo "setup: ready ($(.venv/bin/python -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")'))"
