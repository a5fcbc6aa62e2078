#!/usr/bin/env bash
# Create .venv and install exactly requirements.lock.txt (every distribution, pinned, with
# hashes), then repro itself in editable mode. Safe to run again: a no-op in about a second
# while the venv matches the lock; when the lock changes, the venv is brought to it exactly.
#
# torch: the lock pins the CPU build on local disk (pip's find-links). A torch that was already
# in .venv before this script first installed one (e.g. a GPU build: `.venv/bin/pip install
# torch` before running this) is kept: its entry in the lock is skipped, and env.lock then names
# the torch you have. We know which torch is ours from .venv/.repro-torch, written when we
# install it.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=requirements.lock.txt
STAMP=.venv/.repro-installed   # the sha256 of lock, pyproject.toml and this script, once done
OURS=.venv/.repro-torch        # the torch version this script installed
export PIP_DISABLE_PIP_VERSION_CHECK=1
start=$SECONDS
say() { echo "setup: $* ($((SECONDS - start))s)"; }

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PY" --version 2>&1)"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: $LOCK is for CPython 3.11; .venv has $(.venv/bin/python --version 2>&1)." >&2
  echo "setup: remove .venv and run again with PYTHON=/path/to/python3.11" >&2
  exit 2
fi

want="$(cat "$LOCK" pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && .venv/bin/python -c "import repro" 2>/dev/null; then
  say "ready: .venv matches $LOCK"
  exit 0
fi
rm -f "$STAMP"

pip_install() {
  # hide pip's warnings about package index folders this machine's pip.conf names but lacks
  set +o pipefail
  .venv/bin/pip install -q "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  local rc=${PIPESTATUS[0]}
  set -o pipefail
  return "$rc"
}
# `entry NAME`: the lock's entry for NAME (its == line and the hash lines under it);
# `entries_but 'A|B'`: every other entry. An entry starts at column 0; its lines below are indented.
entry() { awk -v n="$1" '/^[A-Za-z0-9]/ {on = ($1 ~ "^(" n ")==")} on' "$LOCK"; }
entries_but() { awk -v n="$1" '/^[A-Za-z0-9]/ {on = ($1 !~ "^(" n ")==")} on' "$LOCK"; }

locked_torch="$(entry torch | head -1 | sed -E 's/^torch==([^ ]+).*/\1/')"
have_torch="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)"
keep_torch=
if [ -n "$have_torch" ] && [ "$have_torch" != "$(cat "$OURS" 2>/dev/null || true)" ] \
   && [ "$have_torch" != "$locked_torch" ]; then
  keep_torch=1
  say "keeping the torch $have_torch already in .venv (the lock's $locked_torch is skipped)"
else
  if [ "$have_torch" != "$locked_torch" ]; then
    say "installing torch $locked_torch from the lock (a local wheel, about 190 MB)"
    entry torch > .venv/.repro-lock-torch.txt
    pip_install --require-hashes --no-deps -r .venv/.repro-lock-torch.txt
  fi
  echo "$locked_torch" > "$OURS"
fi

# The lock's setuptools first: it builds the lock's few sdists (antlr4-python3-runtime) and repro
# itself without build isolation, which would fetch whatever setuptools is newest that day.
entry setuptools > .venv/.repro-lock-setuptools.txt
pip_install --require-hashes --no-deps -r .venv/.repro-lock-setuptools.txt
entries_but 'torch|setuptools' > .venv/.repro-lock-rest.txt
n="$(grep -cE '^[A-Za-z0-9]' .venv/.repro-lock-rest.txt)"
say "installing the $n other locked distributions, hashes checked (a few minutes the first time)"
# pip's own output, condensed: each distribution as it is fetched (on a terminal, one line
# rewritten in place; otherwise a line every 20), then the unpacking step
set +o pipefail
.venv/bin/pip install --progress-bar off --require-hashes --no-deps --no-build-isolation \
    -r .venv/.repro-lock-rest.txt 2>&1 | awk -v n="$n" -v tty="$([ -t 1 ] && echo 1)" '
  /is ignored: it is neither a file nor a directory/ { next }
  /^(Collecting|Requirement already satisfied:) / {
    k++; name = ($1 == "Collecting") ? $2 : $4
    if (tty) printf "\rsetup: [%d/%d] %s\033[K", k, n, name
    else if (k % 20 == 0 || k == n) printf "setup: [%d/%d] fetched %s\n", k, n, name
    fflush(); next }
  /^Installing collected packages/ {
    if (tty) printf "\n"
    m = split(substr($0, index($0, ":") + 2), names, ", ")
    printf "setup: unpacking %d distributions into .venv (the longest step)\n", m; fflush(); next }
  /^Successfully installed/ { printf "setup: installed %d distributions\n", NF - 2; fflush(); next }
  /^ / || /^(Using cached|Downloading|Obtaining|Processing|Preparing|Looking in|Building|Created|Stored|Saved)/ { next }
  { print; fflush() }'
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" = 0 ] || exit "$rc"

# What the lock does not name goes (a package an older lock had), so that the venv, and so
# env.lock, is the lock exactly. Not with a kept torch: its own dependencies are not in the lock.
extra="$(.venv/bin/python - "$LOCK" <<'PY'
import importlib.metadata as md, re, sys
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
locked = {norm(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", open(sys.argv[1]).read(), re.M)}
have = {norm(d.metadata["Name"]) for d in md.distributions() if d.metadata["Name"]}
print(" ".join(sorted(have - locked - {"pip", "repro"})))
PY
)"
if [ -n "$extra" ] && [ -z "$keep_torch" ]; then
  say "removing what the lock does not name: $extra"
  # shellcheck disable=SC2086
  .venv/bin/pip uninstall -q -y $extra
elif [ -n "$extra" ]; then
  say "not in the lock, kept with your torch: $extra"
fi

say "installing repro (editable, no dependencies)"
pip_install --no-deps --no-build-isolation -e .
echo "$want" > "$STAMP"
say "ready ($(.venv/bin/python -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")'))"
