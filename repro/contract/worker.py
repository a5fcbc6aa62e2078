"""The warm worker's two environment variables, set by ``repro run`` and read by the runners.

``REPRO_WORKER`` is the socket path of the run's warm worker (``runners/warm.py``), started by
the first stage that runs; ``REPRO_WORKER_OWNER`` the pid of the ``repro`` that set it up (the
worker ends with it). Unset, every stage runs in its own process, as under plain ``dvc repro``.
"""

from __future__ import annotations

WORKER_ENV = "REPRO_WORKER"
OWNER_ENV = "REPRO_WORKER_OWNER"
OFF_ENV = "REPRO_NO_WORKER"  # set (to anything) to run every stage in its own process
