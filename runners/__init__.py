"""The data plane: one ``python -m runners.<stage>`` entry point per stage, over plain functions.

Under ``repro run`` a stage hands itself to the run's warm worker (``runners/warm.py``)
before importing anything heavy; see there.
"""

import os as _os
import sys as _sys

from repro.contract.worker import WORKER_ENV as _WORKER_ENV

if _os.environ.get(_WORKER_ENV) and _sys.argv[:1] == ["-m"]:  # `python -m runners.<x>`
    from runners.warm import handoff as _handoff

    _handoff(_sys.orig_argv)  # returns only if the stage is to run in this process
