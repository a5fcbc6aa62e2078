"""Shared plumbing for the stage entry points (``python -m runners.<stage>``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from repro.contract.records import RecordError
from runners.errors import RunnerError

# True in a ``python -m runners.<stage>`` process (``main()`` reading sys.argv), which owns
# its whole interpreter: the harness may then shut out libraries the stage does not use
# (bitsandbytes), which it must not do to a caller running stages in-process (a sweep
# worker, the tests: they pass ``argv``)
stage_process = False


def parser(prog: str, description: str, target: str) -> argparse.ArgumentParser:
    """An argparse parser taking one positional ``target`` and ``--root``."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(target)
    p.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="workspace root holding params.yaml (default: the current directory)",
    )
    return p


def run(body: Callable[[], object]) -> int:
    """Call ``body``; turn a RunnerError (or a missing or malformed record) into one ``error:``
    line on stderr and exit code 1."""
    # Quiet the HF stack: no fork warnings from tokenizers, no telemetry, no progress bars.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        body()
    except (RunnerError, RecordError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


def spec_stage_main(stage: str, description: str, fn: Callable[..., object], argv=None) -> int:
    """``python -m runners.<stage> <spec>``: read the spec from params.yaml, call ``fn``."""
    from runners.params import load_params, spec_params

    global stage_process
    args = parser(f"python -m runners.{stage}", description, "spec").parse_args(argv)
    stage_process = argv is None

    def body() -> None:
        spec = spec_params(load_params(args.root), args.spec)
        fn(spec, args.spec, args.root, command=f"python -m runners.{stage} {args.spec}")

    return run(body)
