"""Validate a loaded spec against the schema and turn pydantic's errors into compiler-style ones.

pydantic reports a location like ``('train', 'sft', 'peft', 'lora', 'r')``, where ``sft`` and
``lora`` are union tags rather than keys. We walk the schema alongside the location to recover
the real field path (``train.peft.r``), find its line in the source, and add a hint (a
did-you-mean for unknown keys and names, the allowed values for a literal).
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from repro.errors import SpecError
from repro.spec.loader import Loaded
from repro.spec.schema import Spec
from repro.spec.schemapath import field_name, model_at, resolve_loc

# common names from other tools -> our field name, for did-you-mean hints
SYNONYMS = {
    "learning_rate": "lr",
    "lr_rate": "lr",
    "num_train_epochs": "epochs",
    "num_epochs": "epochs",
    "n_epochs": "epochs",
    "epoch": "epochs",
    "steps": "max_steps",
    "num_steps": "max_steps",
    "train_steps": "max_steps",
    "per_device_train_batch_size": "batch_size",
    "batchsize": "batch_size",
    "bs": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "gradient_accumulation": "grad_accum",
    "grad_clip": "max_grad_norm",
    "clip_grad_norm": "max_grad_norm",
    "rank": "r",
    "lora_r": "r",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "modules": "target_modules",
    "warmup": "warmup_ratio",
    "optim": "optimizer",
    "lr_scheduler": "scheduler",
    "lr_scheduler_type": "scheduler",
    "dataset": "data",
    "training": "train",
    "eval": "evaluate",
    "evaluation": "evaluate",
    "version": "spec_version",
    "random_seed": "seed",
    "block_size": "max_length",
    "seq_len": "max_length",
    "max_seq_length": "max_length",
    "type": "kind",
    "base_model": "base",
}


def suggest(word: str, choices: list[str]) -> str | None:
    """The closest allowed name to ``word``, directly or through a known synonym."""
    if not choices:
        return None
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    lowered = word.lower()
    if lowered in SYNONYMS and SYNONYMS[lowered] in choices:
        return SYNONYMS[lowered]
    near = difflib.get_close_matches(lowered, list(SYNONYMS), n=1, cutoff=0.75)
    if near and SYNONYMS[near[0]] in choices:
        return SYNONYMS[near[0]]
    return None


# ----------------------------------------------------------------------------- schema walking


# ----------------------------------------------------------------------------- messages


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return repr(value) if isinstance(value, str) else str(value)


def _convert(err: dict[str, Any], doc: Loaded, root: Any = Spec) -> SpecError:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    path = resolve_loc(tuple(err["loc"]), doc.data, root)
    hint = None

    if kind == "extra_forbidden":
        key = str(path[-1])
        parent = model_at(tuple(path[:-1]), doc.data, root)
        allowed = sorted(parent.model_fields) if parent else []
        if parent is Spec:
            allowed.append("extends")
        guess = suggest(key, allowed)
        if guess:
            hint = f"did you mean '{guess}'?"
        elif allowed:
            hint = "allowed: " + ", ".join(allowed)
        message = "unknown field"
    elif kind == "missing":
        message = "missing required field"
        parent = model_at(tuple(path[:-1]), doc.data, root)
        if parent is not None:
            f = parent.model_fields.get(str(path[-1]))
            if f is not None and f.description:
                hint = f.description
    elif kind == "union_tag_invalid":
        disc = ctx.get("discriminator", "").strip("'")
        path = [*path, disc] if disc else path
        expected = [t.strip().strip("'") for t in ctx.get("expected_tags", "").split(",")]
        label = {"method": "method", "name": "name", "kind": "kind"}.get(disc, disc)
        message = f"unknown {label} '{ctx.get('tag')}' (expected one of: {', '.join(expected)})"
        guess = suggest(str(ctx.get("tag")), expected)
        hint = f"did you mean '{guess}'?" if guess else None
    elif kind == "union_tag_not_found":
        disc = ctx.get("discriminator", "").strip("'")
        path = [*path, disc] if disc else path
        message = "missing required field"
    elif kind in ("source_kind", "base_kind"):
        message = err["msg"]
        keys = ["builtin", "path"] if kind == "source_kind" else ["config", "spec", "path", "hub"]
        if isinstance(value, dict):
            for k in value:
                guess = suggest(str(k), keys)
                if guess:
                    hint = f"found '{k}': did you mean '{guess}'?"
                    break
        elif value is not None:
            message += f" (got {_show(value)})"
    elif kind == "literal_error":
        expected = ctx.get("expected", "")
        message = f"must be one of {expected} (got {_show(value)})"
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        guess = suggest(str(value), choices) if isinstance(value, str) else None
        hint = f"did you mean '{guess}'?" if guess else None
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "?")
        message = f"must be {op} {bound} (got {_show(value)})"
    elif kind == "value_error":
        message = str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    else:
        msg = err["msg"]
        msg = msg.replace("Input should be", "must be").replace("Input", "value")
        message = f"{msg[:1].lower()}{msg[1:]}"
        if value is not None and not isinstance(value, dict):
            message += f" (got {_show(value)})"
    at_value = kind not in ("extra_forbidden", "missing", "union_tag_not_found")
    if kind == "union_tag_invalid":
        at_value = True
    pos = doc.pos(tuple(path), value=at_value)
    return SpecError(message, pos=pos, field=field_name(path) or None, hint=hint)


def validate_doc(doc: Loaded) -> Spec:
    """Upgrade an older ``spec_version`` (in place), then validate.

    Raises SpecError(s) naming file, line and field.
    """
    from repro.spec.migrate import upgrade

    upgrade(doc.data)
    return validate_as(Spec, doc)


def validate_as(root: Any, doc: Loaded) -> Any:
    """Validate ``doc`` as the pydantic model ``root`` (a spec, a task file, ...)."""
    from repro.errors import SpecErrors

    try:
        return root.model_validate(doc.data)
    except ValidationError as e:
        errors = [_convert(err, doc, root) for err in e.errors()]
        # a union member that failed also reports its siblings; keep one per field
        seen: set[tuple[str | None, str]] = set()
        unique = []
        for err in errors:
            key = (err.field, err.message)
            if key not in seen:
                seen.add(key)
                unique.append(err)
        unique.sort(key=lambda e: (e.pos.line if e.pos else 0, e.pos.col if e.pos else 0))
        raise SpecErrors(unique) from None


def check_override(data: dict[str, Any], text: str) -> None:
    """Refuse a ``--set`` that names a field this spec does not have: an unknown name, or a
    field under a section the spec leaves unset (``train.peft.r`` on a full fine-tune)."""
    from repro.errors import Pos
    from repro.spec.loader import parse_override

    parts, _ = parse_override(text)
    pos = Pos(f"--set {text}")
    cur: Any = data
    for i, part in enumerate(parts):
        dotted = ".".join(parts[: i + 1])
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
            continue
        model = model_at(tuple(parts[:i]), data, Spec)
        if model is None:
            if isinstance(cur, dict) and i == len(parts) - 1:
                return  # a new key of a free-form mapping (data.columns, search.space)
            raise SpecError(f"'{'.'.join(parts[:i]) or part}' is not a mapping with fields "
                            "in this spec", pos=pos, field=dotted)
        if part not in model.model_fields:
            allowed = sorted(model.model_fields)
            guess = suggest(part, allowed)
            raise SpecError("unknown field: this spec has no such field", pos=pos, field=dotted,
                            hint=f"did you mean '{guess}'?" if guess
                            else "fields here: " + ", ".join(allowed))
        f = model.model_fields[part]
        if i < len(parts) - 1 and f.default_factory is None and f.default is None:
            raise SpecError("not set in this spec (off by default), so it has no fields to "
                            "change", pos=pos, field=dotted,
                            hint=f"set it whole, e.g. --set '{dotted}={{...}}'")
        cur = {}
