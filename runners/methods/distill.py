"""``method: distill``: on-policy distillation with TRL's DistillationTrainer.

The teacher is another spec's trained model (``model.teacher: {spec: NAME}``), loaded
frozen. Each step the student samples completions of the training prompts and is
trained to match the teacher's next-token distribution on them under a generalised
Jensen-Shannon divergence: ``beta`` mixes forward KL (0), JSD (0.5) and reverse KL (1);
``temperature`` softens sampling and both distributions. The logged loss is the
divergence itself, so a falling loss is the student getting closer to the teacher.
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import rl_example
from runners.errors import RunnerError
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = ()


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import DistillationConfig, DistillationTrainer

    t = ctx.train
    if ctx.teacher is None:
        raise RunnerError("train.method distill needs model.teacher: {spec: NAME}")
    teacher = ctx.teacher()
    vocab = (ctx.model.get_output_embeddings().weight.shape[0],
             teacher.get_output_embeddings().weight.shape[0])
    if vocab[0] != vocab[1]:
        raise RunnerError(f"model.teacher: the teacher's vocabulary ({vocab[1]} tokens) is not "
                          f"the student's ({vocab[0]}); distillation compares them token by token")
    args = ctx.args(
        DistillationConfig,
        max_completion_length=int(t["max_completion_length"]),
        temperature=float(t["temperature"]),
        beta=float(t["beta"]),
    )
    data = Dataset.from_list([{"prompt": rl_example(r, ctx.fmt)["prompt"]} for r in ctx.rows])
    return ctx.trainer(DistillationTrainer)(
        model=ctx.model, teacher_model=teacher, args=args, train_dataset=data,
        processing_class=ctx.tokenizer,
    )


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
