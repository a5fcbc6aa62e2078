"""The one exception type runners raise for expected, user-facing failures."""

from __future__ import annotations


class RunnerError(Exception):
    """An expected failure (bad params, missing input, malformed data).

    Entry points print it as one ``error: ...`` line and exit 1, without a traceback.
    """
