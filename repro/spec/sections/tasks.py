"""A benchmark task file: the practical subset of lm-evaluation-harness's task YAML.

The same file runs under repro's own task runner and under real lm-eval
(``evaluate.harness: lm-eval``): documents come from local ``data_files``, prompts are
a column name or a Jinja template, as in lm-eval.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from repro.spec.sections.common import Section

OUTPUT_TYPES = ("multiple_choice", "generate_until", "loglikelihood_rolling")
TASK_METRICS = {
    "multiple_choice": ("acc", "acc_norm"),
    "generate_until": ("exact_match", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum"),
    "loglikelihood_rolling": ("word_perplexity", "byte_perplexity", "bits_per_byte"),
}


class DatasetKwargs(Section):
    data_files: dict[str, str | list[str]] = Field(
        description="split name -> file(s), relative to the workspace root")


class GenerationKwargs(Section):
    until: list[str] = Field(default_factory=lambda: ["\n\n"])
    max_gen_toks: int = Field(32, gt=0, le=4096)
    do_sample: bool = False
    temperature: float = Field(0.0, ge=0)


class MetricItem(Section):
    metric: str
    aggregation: Literal["mean", "perplexity", "weighted_perplexity", "bits_per_byte"] | None = None
    higher_is_better: bool | None = None
    ignore_case: bool | None = None
    ignore_punctuation: bool | None = None


class FewshotConfig(Section):
    sampler: Literal["default", "first_n"] = Field(
        "default", description="default: seeded random draw; first_n: the first documents")


class TaskFile(Section):
    task: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", description="the task's name")
    tag: str | list[str] | None = None
    description: str = Field("", description="text before the few-shot examples")
    dataset_path: Literal["json", "csv", "parquet"] = Field(
        description="the `datasets` builder for the local data_files")
    dataset_name: str | None = None
    dataset_kwargs: DatasetKwargs
    training_split: str | None = None
    validation_split: str | None = None
    test_split: str = Field(description="the split that is scored")
    fewshot_split: str | None = Field(None, description="where few-shot examples come from")
    output_type: Literal["multiple_choice", "generate_until", "loglikelihood_rolling"]
    doc_to_text: str = Field(description="a column name or a Jinja template")
    doc_to_target: str | int = Field(description="a column, a template, or an index")
    doc_to_choice: str | list[str] | None = Field(
        None, description="multiple_choice: a column holding the choices, or a list")
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    num_fewshot: int = Field(0, ge=0, le=64)
    fewshot_config: FewshotConfig = Field(default_factory=FewshotConfig)
    generation_kwargs: GenerationKwargs = Field(default_factory=GenerationKwargs)
    metric_list: list[MetricItem] = Field(min_length=1)
    should_decontaminate: bool = False
    metadata: dict[str, float | int | str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _checks(self) -> TaskFile:
        splits = self.dataset_kwargs.data_files
        for field in ("test_split", "fewshot_split", "training_split", "validation_split"):
            split = getattr(self, field)
            if split is not None and split not in splits:
                raise ValueError(f"{field}: '{split}' is not a key of dataset_kwargs.data_files "
                                 f"(its splits: {', '.join(splits)})")
        allowed = TASK_METRICS[self.output_type]
        for item in self.metric_list:
            if item.metric not in allowed:
                raise ValueError(f"metric_list: '{item.metric}' is not a metric of "
                                 f"{self.output_type} tasks (allowed: {', '.join(allowed)})")
        if self.output_type == "multiple_choice" and self.doc_to_choice is None:
            raise ValueError("multiple_choice tasks need doc_to_choice")
        if self.num_fewshot and self.fewshot_split is None:
            raise ValueError("num_fewshot > 0 needs fewshot_split")
        return self
