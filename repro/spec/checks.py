"""Cross-field and cross-spec checks that a schema alone cannot express.

They run after validation, on all specs together (a base spec must exist and must
not form a cycle), and against the file system (data files must exist). Each check
reports the field it is about, so the error points at the right line.
"""

from __future__ import annotations

from pathlib import Path

from repro.errors import SpecError
from repro.spec.checks_methods import check_teacher, check_template
from repro.spec.schema import (
    ARCH_MODULES,
    BUILTINS,
    TRL_METHODS,
    BuiltinSource,
    ConfigBase,
    HubSource,
    PathBase,
    PathSource,
    SpecBase,
    SpecReward,
    reward_sources,
)
from repro.spec.sections.evaluate import ANSWER_FORMATS, GENERATION_METRICS, ROLLING_METRICS
from repro.spec.tasks import check_evaluate
from repro.spec.workspace import Entry, valid_name

PROMPT_FORMATS = ("instruction", "chat", "preference")  # rows with a prompt to sample from


def _err(entry: Entry, path: tuple, message: str, hint: str | None = None,
         value: bool = False) -> None:
    pos = entry.doc.pos(path, value=value) if entry.doc else None
    entry.errors.append(SpecError(message, pos=pos, field=".".join(map(str, path)), hint=hint))


def _check_one(root: Path, entry: Entry, by_name: dict[str, Entry]) -> None:
    spec = entry.spec
    assert spec is not None
    if not valid_name(entry.name):
        _err(entry, (), f"file name '{entry.name}' is not a valid spec name",
             "use letters, digits, '-' and '_' only")
    if spec.name is not None and spec.name != entry.name:
        _err(entry, ("name",), f"'{spec.name}' does not match the file name '{entry.name}'",
             f"rename the file or set name: {entry.name}")
    data, base, train = spec.data, spec.model.base, spec.train

    if isinstance(data.source, PathSource):
        from repro.spec.datacheck import check_data

        check_data(root, entry, _err)
    if isinstance(data.source, HubSource) and not data.source.revision and not data.hash:
        _err(entry, ("data", "source", "hub"),
             f"hub data set '{data.source.hub}' has no revision, so its rows can change "
             "under the same spec", "pin it: add data.source.revision: <commit sha>, or run "
             f"'repro pin {entry.name}' to write data.hash", value=True)
    if isinstance(data.source, BuiltinSource):
        made = BUILTINS[data.source.builtin]
        if made != data.format:
            _err(entry, ("data", "format"),
                 f"builtin '{data.source.builtin}' gives {made} data, not {data.format}",
                 f"set data.format: {made}")
        if data.columns:
            _err(entry, ("data", "columns"), "built-in data already has the format's columns",
                 "remove data.columns (it renames the columns of files and hub data)")
    check_template(root, entry)
    if data.format in ("preference", "feedback"):
        for key in ("min_tokens", "max_tokens"):
            if getattr(data.clean, key) is not None:
                _err(entry, ("data", "clean", key), f"{data.format} data is not tokenized here",
                     "filter by characters (min_chars, max_chars) instead")
        if train.method in ("pretrain", "sft"):
            what = "preference pairs" if data.format == "preference" else "feedback rows"
            _err(entry, ("train", "method"),
                 f"'{train.method}' needs text, instruction or chat data, not {what}",
                 f"train on {what} with a method for them (dpo, orpo, reward; kto)")

    if isinstance(base, ConfigBase):
        if data.tokenizer is None and spec.model.teacher is None:
            _err(entry, ("data", "tokenizer"),
                 "a model built from a config needs a tokenizer trained on its data",
                 "add data.tokenizer: {kind: bpe, vocab_size: 512}")
        if train.max_length > base.config.max_position_embeddings:
            _err(entry, ("train", "max_length"),
                 f"{train.max_length} is longer than the model's max_position_embeddings "
                 f"({base.config.max_position_embeddings})", value=True)

    else:
        if data.tokenizer is not None:
            _err(entry, ("data", "tokenizer"),
                 "the base model brings its own tokenizer; a new one would not match it",
                 "remove data.tokenizer")
        if train.method == "pretrain":
            _err(entry, ("train", "method"),
                 "'pretrain' trains a new model from scratch, so model.base must be {config: ...}",
                 "use method: sft to keep training an existing model")

    if isinstance(base, SpecBase):
        positions = _config_positions(entry, by_name)
        if positions is not None and train.max_length > positions:
            _err(entry, ("train", "max_length"),
                 f"{train.max_length} is longer than the max_position_embeddings ({positions}) "
                 f"of the model spec '{base.spec}' builds on",
                 f"use train.max_length: {positions} or less", value=True)
    if isinstance(base, PathBase):
        where = _inside(root, entry, ("model", "base", "path"), base.path)
        if where is None:
            pass
        elif not where.exists():
            _err(entry, ("model", "base", "path"), f"model directory '{base.path}' not found",
                 "paths are relative to the workspace root")
        elif not (where / "config.json").is_file():
            _err(entry, ("model", "base", "path"),
                 f"'{base.path}' is not a Hugging Face model directory (no config.json)",
                 "point it at a folder written by save_pretrained()")

    if isinstance(base, SpecBase):
        other = by_name.get(base.spec)
        if base.spec == entry.name:
            _err(entry, ("model", "base", "spec"), "a spec cannot be its own base")
        elif other is None:
            from repro.spec.validate import suggest

            guess = suggest(base.spec, sorted(by_name))
            _err(entry, ("model", "base", "spec"), f"unknown base spec '{base.spec}'",
                 f"did you mean '{guess}'?" if guess else "base specs live in specs/*.yaml")
        elif not other.ok:
            _err(entry, ("model", "base", "spec"), f"base spec '{base.spec}' has errors",
                 f"run: repro validate {other.file}")
        elif getattr(other.spec.train, "peft", None) is not None:
            _err(entry, ("model", "base", "spec"),
                 f"base spec '{base.spec}' trains a LoRA adapter, not a full model",
                 "start from a full model: its base, or a full fine-tune")
        elif other.spec.train.method == "reward":
            _err(entry, ("model", "base", "spec"),
                 f"base spec '{base.spec}' trains a reward model (a classifier), not a "
                 "language model",
                 "start from its base; use it as train.reward: {spec: ...} in a grpo spec")

    ev = spec.evaluate
    for m in ev.metrics:
        if (m == "perplexity" or m in ROLLING_METRICS) and data.format in ("preference",
                                                                            "feedback"):
            _err(entry, ("evaluate", "metrics"), f"{m} needs text, instruction or chat data",
                 f"data.format is '{data.format}'")
        if m in GENERATION_METRICS and m != "exact_match" and data.format not in ANSWER_FORMATS:
            _err(entry, ("evaluate", "metrics"),
                 f"{m} compares generated answers with reference answers: it needs "
                 "instruction, chat or preference data", f"data.format is '{data.format}'")
    for i, g in enumerate(ev.gates):
        if g.against == entry.name:
            _err(entry, ("evaluate", "gates", i, "against"), "a gate cannot compare a spec "
                 "with itself", "name another spec, or use min/max")
        other = by_name.get(g.against or "")
        if other is not None and other.spec is not None and any(
                og.against == entry.name for og in other.spec.evaluate.gates):
            _err(entry, ("evaluate", "gates", i, "against"),
                 f"cycle: '{g.against}' has a gate against this spec too", None)
    check_evaluate(root, spec, lambda path, msg, hint=None: _err(entry, path, msg, hint),
                   set(by_name))
    _check_method(entry, by_name)
    _check_human_eval(entry, by_name)
    _check_tracking(root, entry)
    check_teacher(entry, by_name)

    peft = getattr(train, "peft", None)
    arch = _config_arch(entry, by_name)
    if peft is not None and arch is not None:
        modules = ARCH_MODULES[arch]
        missing = [m for m in peft.target_modules if m not in modules]
        if missing:
            _err(entry, ("train", "peft", "target_modules"),
                 f"no module named {', '.join(repr(m) for m in missing)} in this {arch} model",
                 "modules that exist: " + ", ".join(modules))
    if peft is not None and peft.kind == "qlora" and isinstance(base, ConfigBase):
        _err(entry, ("train", "peft", "kind"),
             "qlora quantizes pretrained weights, but model.base builds a new model",
             "use kind: lora, or start from a trained spec, a path or a hub id")

    if train.precision == "fp16":
        from repro.contract.hardware import cuda_available

        if not cuda_available():
            _err(entry, ("train", "precision"),
                 "fp16 needs a CUDA GPU and this machine has none",
                 "use bf16, which autocasts on CPU too, or fp32")

    if train.method in TRL_METHODS:  # TRL's trainers do not read the loop's own options
        own = {"precision": train.precision != "fp32",
               "gradient_checkpointing": train.gradient_checkpointing,
               "checkpoint": train.checkpoint is not None,
               "distributed": train.distributed is not None}
        for key, used in own.items():
            if used:
                _err(entry, ("train", key),
                     f"supported by methods pretrain and sft (the runner's own loop); method "
                     f"'{train.method}' does not use it yet", f"remove train.{key}")

    dist = train.distributed
    if dist is not None and dist.config_file is not None:
        where = _inside(root, entry, ("train", "distributed", "config_file"), dist.config_file)
        if where is not None and not where.is_file():
            _err(entry, ("train", "distributed", "config_file"),
                 f"accelerate config '{dist.config_file}' not found",
                 "write one with 'accelerate config --config_file FILE'; paths are relative "
                 "to the workspace root")




def _check_human_eval(entry: Entry, by_name: dict[str, Entry]) -> None:
    """``human_eval.against``: other specs that exist, once each."""
    human = entry.spec.human_eval
    if human is None:
        return
    seen: set[str] = set()
    for i, other in enumerate(human.against):
        where = ("human_eval", "against", i)
        if other == entry.name:
            _err(entry, where, "a spec cannot be judged against itself")
        elif other in seen:
            _err(entry, where, f"'{other}' is listed twice")
        elif other not in by_name:
            from repro.spec.validate import suggest

            guess = suggest(other, sorted(by_name))
            _err(entry, where, f"no spec named '{other}' in specs/",
                 f"did you mean '{guess}'?" if guess else None)
        seen.add(other)
def _inside(root: Path, entry: Entry, path: tuple, rel: str) -> Path | None:
    """``rel`` inside the workspace, or None after reporting it (nothing there is touched)."""
    from repro.contract.paths import PathRefused, confine

    try:
        return confine(root, rel)
    except PathRefused as e:
        _err(entry, path, e.message, e.hint, value=True)
        return None


def _check_tracking(root: Path, entry: Entry) -> None:
    """A local MLflow store (sqlite:///, file:, a plain path) must be inside the workspace."""
    uri = entry.spec.tracking.tracking_uri
    if not uri or "${" in uri:
        return
    local = None
    if uri.startswith("sqlite:///"):
        local = uri[len("sqlite:///"):]
        local = "/" + local.lstrip("/") if uri.startswith("sqlite:////") else local
    elif uri.startswith("file:"):
        local = uri[len("file:"):].removeprefix("//")
    elif "://" not in uri:
        local = uri
    if local:
        _inside(root, entry, ("tracking", "tracking_uri"), local)


def _check_method(entry: Entry, by_name: dict[str, Entry]) -> None:
    """Method against data format, evaluation metrics and reward spec."""
    spec = entry.spec
    data, train, metrics = spec.data, spec.train, spec.evaluate.metrics
    fmt, method = data.format, train.method
    if method in ("dpo", "reward", "orpo") and fmt != "preference":
        _err(entry, ("train", "method"),
             f"method '{method}' needs preference data (prompt/chosen/rejected), but "
             f"data.format is '{fmt}'",
             "use data.format: preference, e.g. data.source: {builtin: arithmetic-preference}")
    if method == "kto" and fmt != "feedback":
        _err(entry, ("train", "method"),
             f"method 'kto' needs binary feedback data (prompt/completion/label), but "
             f"data.format is '{fmt}'",
             "use data.format: feedback, e.g. data.source: {builtin: arithmetic-feedback}")
    if method in ("grpo", "rloo", "distill") and fmt not in PROMPT_FORMATS:
        _err(entry, ("train", "method"),
             f"method '{method}' needs prompts to sample from, but data.format is '{fmt}'",
             "use instruction, chat or preference data")
    if method == "trl-sft":
        if train.assistant_only_loss and fmt != "chat":
            _err(entry, ("train", "assistant_only_loss"),
                 f"assistant_only_loss needs chat data, but data.format is '{fmt}'",
                 "instruction data already trains on the answer only; remove the field")
    if method == "reward":
        bad = [m for m in metrics if m != "preference_accuracy"]
        if bad:
            _err(entry, ("evaluate", "metrics"),
                 f"a reward model scores sequences and cannot generate: {', '.join(bad)} "
                 "does not apply",
                 "use metrics: [preference_accuracy]")
    if "exact_match" in metrics and fmt not in ANSWER_FORMATS:
        _err(entry, ("evaluate", "metrics"),
             "exact_match needs rows with a reference answer (instruction, chat or preference)",
             f"data.format is '{fmt}'")
    if "preference_accuracy" in metrics and fmt != "preference":
        _err(entry, ("evaluate", "metrics"), "preference_accuracy needs preference data",
             f"data.format is '{fmt}'")

    for path, reward in reward_sources(train):
        if not isinstance(reward, SpecReward):
            continue
        where = (*path, "spec")
        other = by_name.get(reward.spec)
        if reward.spec == entry.name:
            _err(entry, where, "a spec cannot be its own reward model")
        elif other is None:
            from repro.spec.validate import suggest

            guess = suggest(reward.spec, sorted(by_name))
            _err(entry, where, f"unknown reward spec '{reward.spec}'",
                 f"did you mean '{guess}'?" if guess else "reward specs live in specs/*.yaml")
        elif not other.ok:
            _err(entry, where, f"reward spec '{reward.spec}' has errors",
                 f"run: repro validate {other.file}")
        elif other.spec.train.method != "reward":
            _err(entry, where,
                 f"spec '{reward.spec}' trains with method '{other.spec.train.method}', not a "
                 "reward model",
                 "point it at a spec with train.method: reward, or use {function: exact_match}")


def _config_positions(entry: Entry, by_name: dict[str, Entry], depth: int = 0) -> int | None:
    """The max_position_embeddings of the config a spec's model is built from, if known."""
    base = entry.spec.model.base if entry.spec else None
    if isinstance(base, ConfigBase):
        return base.config.max_position_embeddings
    if isinstance(base, SpecBase) and depth < 64:
        other = by_name.get(base.spec)
        if other is not None and other.spec is not None:
            return _config_positions(other, by_name, depth + 1)
    return None


def _config_arch(entry: Entry, by_name: dict[str, Entry], depth: int = 0) -> str | None:
    """The arch of the config a spec's model is built from (through base specs), if any."""
    base = entry.spec.model.base if entry.spec else None
    if isinstance(base, ConfigBase):
        return base.config.arch
    if isinstance(base, SpecBase) and depth < 64:
        other = by_name.get(base.spec)
        if other is not None and other.ok:
            return _config_arch(other, by_name, depth + 1)
    return None


def _check_cycles(entries: list[Entry], by_name: dict[str, Entry]) -> None:
    """A spec that needs itself through base or reward specs: report the first loop."""
    for entry in entries:
        if entry.spec is None:
            continue
        for path, first in entry.spec.spec_refs():
            chain = _path_back(first, entry.name, by_name)
            if chain is not None and first != entry.name:
                _err(entry, path, "cycle of spec dependencies: "
                     + " -> ".join([entry.name, *chain]))
                break


def _path_back(start: str, target: str, by_name: dict[str, Entry]) -> list[str] | None:
    """Names from ``start`` to ``target`` following spec references (depth first), if any."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, chain = stack.pop()
        if name == target:
            return chain
        other = by_name.get(name)
        if name in seen or other is None or other.spec is None:
            continue
        seen.add(name)
        for _, nxt in other.spec.spec_refs():
            stack.append((nxt, [*chain, nxt]))
    return None


def check_all(root: Path, entries: list[Entry]) -> None:
    by_name: dict[str, Entry] = {}
    for entry in entries:
        if entry.name in by_name:
            first = by_name[entry.name]
            entry.errors.append(SpecError(
                f"two specs are named '{entry.name}' ({first.file} and {entry.file})",
                pos=entry.doc.pos(()) if entry.doc else None,
                hint="spec names come from file names and must be unique"))
        else:
            by_name[entry.name] = entry
    # checks of base specs read whether the base is ok, so check in dependency order
    done: set[str] = set()

    def visit(entry: Entry, depth: int = 0) -> None:
        if entry.name in done or entry.spec is None or entry.errors:
            done.add(entry.name)
            return
        done.add(entry.name)
        for _, ref in entry.spec.spec_refs():
            if ref in by_name and depth < 64:
                visit(by_name[ref], depth + 1)
        _check_one(root, entry, by_name)
        if entry.spec.search is not None and not entry.errors:
            from repro.search.space import check_search

            check_search(entry, lambda e: _check_one(root, e, by_name))

    _check_cycles(entries, by_name)
    for entry in entries:
        visit(entry)
