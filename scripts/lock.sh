#!/usr/bin/env bash
# Regenerate requirements.lock.txt: every distribution the project's venv holds (runtime and
# dev), pinned with == and every file hash, for CPython 3.11 on linux x86_64.
#
#   bash scripts/lock.sh                          keep the current pins; add or drop only what
#                                                 pyproject.toml's dependencies now need
#   bash scripts/lock.sh --upgrade-package NAME   move one package (and what it needs) to its newest
#   bash scripts/lock.sh --upgrade                move everything
#
# Then `bash scripts/setup.sh` installs exactly the new lock, `.venv/bin/repro compile` rewrites
# env.lock, and every stage whose packages changed is stale: commit the lock and env.lock together.
#
# The lock is resolved and hashed by uv (pinned below, installed into a tool venv outside the
# repository on first use); it is installed by pip (scripts/setup.sh), so that torch comes from
# the CPU wheel in /opt/wheels, which scripts/lock-constraints.txt pins.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/repro/uv-$UV_VERSION"
if [ ! -x "$TOOLS/bin/uv" ]; then
  echo "lock: installing uv $UV_VERSION into $TOOLS"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
fi

echo "lock: resolving pyproject.toml (+dev) for CPython 3.11, linux x86_64"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"$TOOLS/bin/uv" pip compile pyproject.toml --extra dev \
  --constraint scripts/lock-constraints.txt \
  --find-links /opt/wheels \
  --generate-hashes \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --custom-compile-command "bash scripts/lock.sh" \
  --quiet --output-file requirements.lock.txt "$@"
{
  echo "# The full lock: every distribution of the project's venv, runtime and dev, with hashes."
  echo "# scripts/setup.sh installs exactly this (pip --require-hashes --no-deps); do not edit by"
  echo "# hand: change pyproject.toml or scripts/lock-constraints.txt and run scripts/lock.sh."
  grep -v '^# The full lock\|^# scripts/setup.sh installs exactly\|^# hand: change pyproject' requirements.lock.txt
} > "$tmp"
cat "$tmp" > requirements.lock.txt
echo "lock: requirements.lock.txt pins $(grep -cE '^[A-Za-z0-9]' requirements.lock.txt) distributions"
