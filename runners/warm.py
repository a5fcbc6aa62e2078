"""A warm worker: the ML stack imported once, a fresh forked process for every stage.

Every stage pays 5-10 s to import torch, transformers, peft and TRL before it does any
work. ``repro run`` starts one worker (``python -m runners.warm SOCKET``) that imports them
once (started by the first stage that runs, so a run with nothing to do pays nothing), and
points the stages at it through ``REPRO_WORKER``. A stage command stays what DVC
runs (``python -m runners.train NAME``): its first line of Python (``runners/__init__.py``)
hands its argv, working directory, environment and its stdin/stdout/stderr (the file
descriptors themselves) to the worker, which forks a child that runs the stage exactly as
``python -m`` would, writing straight to the stage's own output. The stage process exits
with the child's exit code.

Results are the same bytes either way: each child seeds itself and pins its threads (the
harness does that for every stage); the worker only imported modules, it never ran a
model. A child that crashes takes nothing else down; a stage whose process is killed has
its child killed too. Without a worker (plain ``dvc repro``, ``REPRO_WORKER`` unset, or a
worker that is gone) a stage simply runs in its own process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import time

from repro.contract.worker import OWNER_ENV as OWNER
from repro.contract.worker import WORKER_ENV as ENV

STAGES = ("runners.prepare", "runners.train", "runners.evaluate")
PRELOAD = (  # imported once by the worker, by name (a stage's code deps are its own imports)
    "torch",
    "transformers",
    "runners.train",
    "runners.evaluate",
    "runners.prepare",
    "runners.methods.loop",
    "runners.methods.sft_trl",
    "runners.methods.dpo",
    "runners.methods.reward",
    "runners.methods.grpo",
    "runners.methods.rloo",
    "runners.methods.kto",
    "runners.methods.orpo",
    "runners.methods.distill",
    "trl",
)
_HEADER = struct.Struct("!I")


# ----------------------------------------------------------------------------- the stage side


def handoff(argv: list[str]) -> None:
    """If ``argv`` (``sys.orig_argv``) is ``python ... -m runners.<stage> ARGS`` and a worker is
    set up, run the stage in the worker and exit with its code. Return (to run the stage in
    this process) when there is no worker, it declines, or this is one rank of many."""
    path = os.environ.get(ENV)
    if not path or "-m" not in argv or os.environ.get("WORLD_SIZE", "1") != "1":
        return
    i = argv.index("-m")
    module, args = argv[i + 1] if i + 1 < len(argv) else "", argv[i + 2:]
    if module not in STAGES:
        return
    conn = _connect(path)
    if conn is None:
        return
    request = json.dumps({"module": module, "args": args, "cwd": os.getcwd(),
                          "env": dict(os.environ)}).encode("utf-8")
    try:
        socket.send_fds(conn, [_HEADER.pack(len(request)) + request], [0, 1, 2])
        if conn.recv(1) != b"Y":  # declined (another workspace): run here
            conn.close()
            return
    except OSError:
        conn.close()
        return
    # from here the stage runs in the worker; if this process is killed (by DVC, or
    # Ctrl-C), the connection closes and the worker kills the stage
    reply = b""
    while len(reply) < _HEADER.size:
        chunk = conn.recv(_HEADER.size - len(reply))
        if not chunk:
            print(f"error: the repro worker at {path} stopped while running this stage",
                  file=sys.stderr)
            os._exit(1)
        reply += chunk
    (code,) = _HEADER.unpack(reply)
    os._exit(code)


def _connect(path: str) -> socket.socket | None:
    """A connection to the worker at ``path``, starting it first if nobody has yet."""
    if not os.path.exists(path):
        try:  # exactly one stage starts the worker
            os.close(os.open(path + ".started", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except OSError:
            return None
        import subprocess

        with open(path + ".log", "ab") as log:
            subprocess.Popen([sys.executable, "-m", "runners.warm", path], cwd=os.getcwd(),
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        for _ in range(600):  # it binds the socket first thing
            if os.path.exists(path):
                break
            time.sleep(0.05)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    return conn


# ----------------------------------------------------------------------------- the worker


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    while len(data) < _HEADER.size:
        data += conn.recv(_HEADER.size - len(data))
    (size,) = _HEADER.unpack(data[:_HEADER.size])
    body = data[_HEADER.size:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("request cut short")
        body += chunk
    return json.loads(body), fds


def _child(request: dict, fds: list[int]) -> int:
    """In the forked child: become the stage process ``python -m`` would have started."""
    import runpy

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the stage's own stdio, line-buffered
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.pop(ENV, None)
    sys.path[0] = request["cwd"]  # what `python -m` puts first
    sys.argv = [request["module"], *request["args"]]
    # as under `python -m`, the stage module runs as __main__ without having been imported
    # (the worker imported it only to cache its imports)
    sys.modules.pop(request["module"], None)
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code


def _serve_one(conn: socket.socket, listener: socket.socket) -> None:
    request, fds = _recv_request(conn)
    if os.path.realpath(request["cwd"]) != os.path.realpath(os.getcwd()):
        for fd in fds:  # another workspace: its runners are not the ones imported here
            os.close(fd)
        conn.sendall(b"N")
        return
    conn.sendall(b"Y")
    pid = os.fork()
    if pid == 0:  # the stage
        listener.close()
        conn.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os._exit(_child(request, fds))
    for fd in fds:
        os.close(fd)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            code = code if code >= 0 else 128 - code  # killed by a signal: as a shell says
            try:
                conn.sendall(_HEADER.pack(code))
            except OSError:
                pass
            return
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable and not conn.recv(1, socket.MSG_PEEK):  # the stage process is gone
            os.kill(pid, signal.SIGTERM)


def serve(path: str) -> None:
    """Listen on ``path``, import the ML stack, then run stages until told to stop: SIGTERM,
    the socket removed, or the ``repro`` that set the worker up gone."""
    import importlib

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)  # stages that connect now wait until the imports below are done
    with open(path + ".pid", "w") as f:
        f.write(str(os.getpid()))
    owner = int(os.environ.get(OWNER) or 0)
    os.environ.pop(ENV, None)
    # the same quiet environment a stage sets for itself (entry.run)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from runners.models import adapters

    adapters.hide_bitsandbytes()  # a QLoRA or 8-bit stage opens it in its own child
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an optional library: its stages import it themselves
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while os.path.exists(path) and (not owner or _alive(owner)):
            readable, _, _ = select.select([listener], [], [], 1.0)
            if readable:
                conn, _ = listener.accept()
                with conn:
                    _serve_one(conn, listener)
    finally:
        listener.close()
        for leftover in (path, path + ".pid"):
            try:
                os.unlink(leftover)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    serve(sys.argv[1])
