"""The one exception type runners raise for expected, user-facing failures."""

from __future__ import annotations


class RunnerError(Exception):
    """An expected failure (bad params, missing input, malformed data).

    Entry points print it as one ``error: ...`` line and exit 1, without a traceback.
    """


def confined(root, rel: str, field: str):
    """A path a spec names, inside the workspace (or a named external entry), as a ``Path``;
    a RunnerError naming ``field`` otherwise. The stages' own copy of the rule `repro
    validate` applies (defence in depth: params.yaml may have been edited by hand)."""
    from repro.contract.paths import PathRefused, spec_path

    try:
        return spec_path(root, rel)
    except PathRefused as e:
        raise RunnerError(f"{field}: {e.message} ({e.hint})") from None
