"""``python -m runners.human_outputs SPEC``: each compared spec's answers to the same prompts.

``repro human export SPEC`` runs this module and builds the blind sheet from the one line of
JSON it prints: ``{"prompts": [{"index", "prompt", "reference"}], "outputs": {spec:
[answer, ...]}, "models": {spec: {"path", "sha256", "record"}}}``. The answers come from the
evaluate stage's own code path (``runners.scoring.metrics``: the prompt through the data
format or chat template, greedy batched decoding), for SPEC and every spec in its
``human_eval.against``, on the first ``human_eval.prompts`` rows of ``human_eval.split``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.records import read_manifest
from repro.spec.sections.determinism import Determinism
from repro.spec.sections.evaluate import ANSWER_FORMATS, Evaluate
from repro.spec.sections.human_eval import HumanEval
from repro.spec.sections.model import Model
from runners.errors import RunnerError
from runners.params import load_params, resolve_spec, spec_params

SECTIONS = {"model": Model, "evaluate": Evaluate, "determinism": Determinism}


def outputs(params: dict[str, Any], name: str, root: str | Path = ".") -> dict[str, Any]:
    """The prompts and every system's answers for spec ``name``'s ``human_eval`` section."""
    from runners.data.batching import read_rows
    from runners.models import modeling
    from runners.records.lineage import content_hash, pointer
    from runners.scoring.metrics import generate_answers, question_answer
    from runners.training import seeding

    root = Path(root)
    host = spec_params(params, name)
    if not host.get("human_eval"):
        raise RunnerError(f"spec {name!r} has no human_eval section")
    human = HumanEval.model_validate(host["human_eval"]).model_dump()
    systems = [name, *human["against"]]
    key = host["data"]
    others = {s: spec_params(params, s)["data"] for s in systems}
    differ = sorted(s for s, k in others.items() if k != key)
    if differ:
        raise RunnerError(f"{', '.join(differ)} prepare(s) other data than {name} ({key}); "
                          "a side-by-side needs the same prompts: use specs with one data set")
    data_dir = root / paths.data_dir(key)
    fmt = read_manifest(data_dir)["format"]
    if fmt not in ANSWER_FORMATS:
        raise RunnerError(f"{key}: {fmt} data has no prompts to answer; human evaluation needs "
                          f"{', '.join(ANSWER_FORMATS)} data")
    rows = read_rows(data_dir / paths.SPLIT_FILES[human["split"]])[: human["prompts"]]
    if not rows:
        raise RunnerError(f"{data_dir}: split {human['split']!r} is empty")
    prompts, answers, models = None, {}, {}
    for system in systems:
        s = resolve_spec(spec_params(params, system), system, SECTIONS)
        seeding.seed_everything(s["seed"], full=seeding.determinism(s),
                                threads=seeding.threads(s))
        model, tokenizer = modeling.load_trained(s, system, root)
        qa = [question_answer(tokenizer, r, fmt) for r in rows]
        if prompts is None:
            prompts = [{"index": i, "prompt": q[2], "reference": q[1]} for i, q in enumerate(qa)]
        answers[system] = generate_answers(model, tokenizer, [q[0] for q in qa],
                                           human["max_new_tokens"], int(s["evaluate"]["batch_size"]))
        models[system] = {
            "path": paths.model_dir(system).as_posix(),
            "sha256": content_hash(root / paths.model_dir(system)),
            "record": pointer(root, paths.spec_dir(system) / paths.TRAIN_LINEAGE),
        }
    return {"prompts": prompts, "outputs": answers, "models": models}


def main(argv: list[str] | None = None) -> int:
    from runners.entry import run

    p = argparse.ArgumentParser(prog="python -m runners.human_outputs",
                                description=__doc__.split("\n")[0])
    p.add_argument("spec")
    p.add_argument("--root", type=Path, default=Path("."),
                   help="workspace root (default: the current directory)")
    p.add_argument("--params-dir", type=Path, default=None, metavar="DIR",
                   help="the folder holding the params.yaml to read (default: --root)")
    args = p.parse_args(argv)

    def body() -> None:
        params = load_params(args.params_dir or args.root)
        print(json.dumps(outputs(params, args.spec, args.root)))

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
