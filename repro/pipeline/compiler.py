"""Compile every spec into one stage graph, then into ``dvc.yaml`` and ``params.yaml``.

``graph`` builds the stages, ``dvcfiles`` renders them; output is byte-identical for
identical input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.contract import paths
from repro.pipeline.dvcfiles import load_existing, render_dvc, render_params
from repro.pipeline.graph import Graph, build_graph
from repro.spec.workspace import Entry


@dataclass
class Compiled:
    graph: Graph
    dvc_yaml: str
    params_yaml: str


def compile_workspace(root: Path, entries: list[Entry]) -> Compiled:
    graph = build_graph(root, entries)
    dvc_text = render_dvc(graph, load_existing(root / paths.DVC_FILE))
    params_text = render_params(graph, load_existing(root / paths.PARAMS_FILE))
    return Compiled(graph, dvc_text, params_text)


def params_text(root: Path, entries: list[Entry]) -> str:
    """``params.yaml`` as the specs compile to now (``--set`` overrides included), written
    nowhere: what a runner the control plane calls reads (``run_runner``'s ``params_yaml``)."""
    return render_params(build_graph(root, entries), None)


def stale_files(root: Path, compiled: Compiled) -> list[str]:
    out = []
    for name, text in ((paths.DVC_FILE, compiled.dvc_yaml), (paths.PARAMS_FILE, compiled.params_yaml)):
        p = root / name
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def write_compiled(root: Path, compiled: Compiled) -> list[str]:
    """Write env.lock, params.yaml and dvc.yaml where they changed; the names written."""
    from repro.contract import envlock
    from repro.contract.fsio import write_text_atomic
    from repro.pipeline.experiments import guard

    guard(root, compiled.params_yaml)  # params.yaml edited by another tool: stop, explain
    written = []
    files = ((paths.ENV_LOCK, envlock.render()), (paths.PARAMS_FILE, compiled.params_yaml),
             (paths.DVC_FILE, compiled.dvc_yaml))
    for name, text in files:
        if write_text_atomic(root / name, text, only_if_changed=True):
            written.append(name)
    from repro.pipeline.plots import write_offline_template

    return written + write_offline_template(root)


def spec_keys(root: Path, entries: list[Entry]) -> dict[str, str]:
    """spec name -> prepared data key, for the specs that are valid."""
    ok = [e for e in entries if e.ok]
    return build_graph(root, ok).spec_data if ok else {}
