"""Checks of the newer method and data fields: chat templates and distillation teachers.

Split from ``repro.spec.checks`` (which calls them) to keep each module short; the same
compiler-style errors, each on the field it is about.
"""

from __future__ import annotations

from pathlib import Path

from repro.contract.chat_templates import NAMED as NAMED_TEMPLATES
from repro.contract.chat_templates import is_jinja
from repro.errors import SpecError
from repro.spec.schema import ConfigBase, HubBase, PathBase, SpecBase
from repro.spec.workspace import Entry

TEMPLATED_FORMATS = ("chat", "preference", "feedback")  # rendered through the chat template


def _err(entry: Entry, path: tuple, message: str, hint: str | None = None) -> None:
    pos = entry.doc.pos(path) if entry.doc else None
    entry.errors.append(SpecError(message, pos=pos, field=".".join(map(str, path)), hint=hint))


def check_template(root: Path, entry: Entry) -> None:
    """data.chat_template: formats that render conversations; a file inside the workspace;
    generation markers where the loss needs them."""
    data, train = entry.spec.data, entry.spec.train
    template = data.chat_template
    if template is None:
        return
    where = ("data", "chat_template")
    if data.format not in TEMPLATED_FORMATS:
        _err(entry, where, "a chat template only applies to chat, preference and feedback data",
             f"data.format is '{data.format}'")
        return
    text = template if isinstance(template, str) else None
    if isinstance(template, str):
        text = NAMED_TEMPLATES.get(template, template)
    else:
        rel = Path(template.file)
        path = (root / rel).resolve()
        if rel.is_absolute() or not path.is_relative_to(root.resolve()):
            _err(entry, (*where, "file"), f"'{template.file}' is outside the workspace",
                 "give a path relative to the workspace root, inside it")
            return
        if not path.is_file():
            _err(entry, (*where, "file"), f"chat template file '{template.file}' not found",
                 "paths are relative to the workspace root")
            return
        text = path.read_text(encoding="utf-8")
        if not is_jinja(text):
            _err(entry, (*where, "file"), f"'{template.file}' holds no Jinja template",
                 "a chat template renders `messages` with {% for %} and {{ }}")
    if (train.method == "trl-sft" and data.format == "chat"
            and train.assistant_only_loss is not False and "generation" not in text):
        _err(entry, where,
             "assistant_only_loss needs a chat template that marks the assistant turns "
             "with {% generation %} ... {% endgeneration %}",
             "add the markers, or set train.assistant_only_loss: false")


def _tokenizer_origin(entry: Entry, by_name: dict[str, Entry],
                      depth: int = 0) -> tuple[str, str] | None:
    """(key, description) of where a spec's tokenizer comes from, following base specs
    (and a config student's teacher); None when it cannot be told (a spec with errors)."""
    spec = entry.spec
    if spec is None or depth > 64:
        return None
    if spec.data.tokenizer is not None:
        section = spec.data.model_dump_json(exclude={"workers"})
        return f"trained:{section}", f"a tokenizer trained on the data of spec '{entry.name}'"
    base, teacher = spec.model.base, spec.model.teacher
    nxt = base.spec if isinstance(base, SpecBase) else (
        teacher.spec if isinstance(base, ConfigBase) and teacher is not None else None)
    if nxt is not None:
        other = by_name.get(nxt)
        return _tokenizer_origin(other, by_name, depth + 1) if other is not None else None
    if isinstance(base, PathBase):
        return f"path:{base.path.rstrip('/')}", f"the tokenizer in '{base.path}'"
    if isinstance(base, HubBase):
        return f"hub:{base.hub}@{base.revision}", f"the tokenizer of hub model '{base.hub}'"
    return None


def check_teacher(entry: Entry, by_name: dict[str, Entry]) -> None:
    """model.teacher: distillation only, a full language model, the student's vocabulary."""
    spec = entry.spec
    teacher, method = spec.model.teacher, spec.train.method
    if method == "distill" and teacher is None:
        _err(entry, ("model",), "method 'distill' needs a teacher model",
             "add model.teacher: {spec: <a trained spec>}")
    if teacher is None:
        return
    where = ("model", "teacher", "spec")
    if method != "distill":
        _err(entry, ("model", "teacher"), f"a teacher is only used by method 'distill' "
             f"(train.method is '{method}')", "remove model.teacher, or use method: distill")
        return
    other = by_name.get(teacher.spec)
    if teacher.spec == entry.name:
        _err(entry, where, "a spec cannot be its own teacher")
    elif other is None:
        from repro.spec.validate import suggest

        guess = suggest(teacher.spec, sorted(by_name))
        _err(entry, where, f"unknown teacher spec '{teacher.spec}'",
             f"did you mean '{guess}'?" if guess else "teacher specs live in specs/*.yaml")
    elif not other.ok:
        _err(entry, where, f"teacher spec '{teacher.spec}' has errors",
             f"run: repro validate {other.file}")
    elif getattr(other.spec.train, "peft", None) is not None:
        _err(entry, where, f"teacher spec '{teacher.spec}' trains a LoRA adapter, not a full "
             "model", "distil from a full model: its base, or a full fine-tune")
    elif other.spec.train.method == "reward":
        _err(entry, where, f"teacher spec '{teacher.spec}' trains a reward model (a "
             "classifier), not a language model")
    else:
        mine, theirs = _tokenizer_origin(entry, by_name), _tokenizer_origin(other, by_name)
        if mine is not None and theirs is not None and mine[0] != theirs[0]:
            _err(entry, where,
                 f"the teacher '{teacher.spec}' has a different vocabulary: it uses "
                 f"{theirs[1]}, this spec {mine[1]}",
                 "distillation compares the two models token by token; start the student "
                 "from a spec sharing the teacher's tokenizer, or from a config without "
                 "data.tokenizer (it then takes the teacher's)")
