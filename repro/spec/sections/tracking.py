"""The ``tracking`` section: MLflow (no password may be written into a spec)."""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
)

from repro.spec.sections.common import Section


class Tracking(Section):
    mlflow: bool = True
    tracking_uri: str | None = Field(
        None,
        description="null = $MLFLOW_TRACKING_URI or sqlite:///mlflow.db in the workspace; "
        "${NAME} is replaced by environment variable NAME at run time (for credentials)",
    )
    experiment: str = Field("repro", min_length=1)

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
