"""The ``tracking`` section: MLflow, and W&B optionally (no password may be written into a spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from repro.spec.sections.common import Section


class Wandb(Section):
    project: str = Field("repro", min_length=1)
    entity: str | None = None
    mode: Literal["offline", "online"] = Field(
        "offline",
        description="offline writes runs under .repro/wandb (upload later with `wandb sync`); "
        "online needs WANDB_API_KEY in the environment; WANDB_MODE overrides",
    )


class Tracking(Section):
    mlflow: bool = True
    tracking_uri: str | None = Field(
        None,
        description="null = $MLFLOW_TRACKING_URI or sqlite:///mlflow.db in the workspace; "
        "${NAME} is replaced by environment variable NAME at run time (for credentials)",
    )
    experiment: str = Field("repro", min_length=1)
    log_model: bool = Field(
        True, description="log the trained model or adapter as an MLflow logged model "
        "(a copy of its weights in the artifact store); false for big models")
    register_model: str | None = Field(
        None, min_length=1,
        description="register each trained model as a new version of this model in the "
        "MLflow model registry; null = no registration")
    wandb: Wandb | None = Field(
        None, description="also log to Weights & Biases (needs the wandb package: "
        "pip install 'repro[wandb]'); null = off")

    @field_validator("tracking_uri")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        from repro.contract.secrets import uri_has_password

        if value and uri_has_password(value) and not _only_env_password(value):
            raise ValueError(
                "holds a password, which would be written to params.yaml, dvc.lock and git; "
                "write it as ${SOME_ENV_VAR} (read at run time) or set MLFLOW_TRACKING_PASSWORD"
            )
        return value


def _only_env_password(uri: str) -> bool:
    """True when the password part of ``uri`` is an environment reference such as ``${PW}``."""
    import re

    m = re.search(r"://[^/\s:@]*:([^@/\s]*)@", uri)
    return bool(m and re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", m.group(1)))
