"""The curves a train stage logs, per method: the columns of ``runs/<spec>/train_log.csv``.

The runners write these columns (tests/runners check each method against this table) and
the compiler declares them as DVC plots, overlaid across specs whose curves compare: the
same column of methods in the same family (every language-model loss together, every DPO
margin together, the learning rate of all). A column a log lacks would fail DVC's whole
chart, so only what a method writes is declared.
"""

from __future__ import annotations

from typing import Any

BASE_COLUMNS = ("loss", "lr")
# the method-specific columns after step, loss, lr (runners.methods.<m>.LOGGED)
METHOD_COLUMNS: dict[str, tuple[str, ...]] = {
    "pretrain": (),
    "sft": (),
    "trl-sft": ("token_accuracy",),
    "dpo": ("accuracy", "margin"),
    "reward": ("accuracy", "margin"),
    "grpo": ("reward",),
    "kto": ("margin", "kl"),
    "orpo": ("accuracy", "margin", "nll"),
    "rloo": ("reward",),
    "distill": (),
}
# whose curves compare: the family names a chart
FAMILY = {"pretrain": "lm", "sft": "lm", "trl-sft": "lm", "dpo": "dpo", "reward": "reward",
          "grpo": "online-rl", "rloo": "online-rl", "kto": "kto", "orpo": "orpo",
          "distill": "lm"}
VALIDATION_COLUMN = "val_loss"
# train fields that turn on a validation loss every N steps (the log then has val_loss)
VALIDATION_FIELDS = ("eval_every", "validation_every")
LABELS = {"loss": "training loss", "lr": "learning rate", "val_loss": "validation loss",
          "token_accuracy": "token accuracy", "accuracy": "reward accuracy",
          "margin": "reward margin", "reward": "mean reward", "kl": "KL to the reference",
          "nll": "NLL of the chosen answers"}


def validates(train: dict[str, Any]) -> bool:
    """True when the train section asks for a validation loss during training."""
    if any(train.get(f) for f in VALIDATION_FIELDS):
        return True
    section = train.get("validation")
    return isinstance(section, dict) and bool(section.get("every"))


def columns(train: dict[str, Any]) -> tuple[str, ...]:
    """The value columns (after ``step``) of the train log for a resolved train section."""
    method = train["method"]
    out = (*BASE_COLUMNS, *METHOD_COLUMNS.get(method, ()))
    return (*out, VALIDATION_COLUMN) if validates(train) else out


def chart(column: str, method: str) -> tuple[str, str]:
    """(plot id, title) of the chart a method's column is drawn in."""
    if column == "lr":
        return "repro-lr", "learning rate (all specs)"
    family = FAMILY.get(method, method)
    return f"repro-{family}-{column}", f"{LABELS.get(column, column)} ({family} specs)"
