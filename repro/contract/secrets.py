"""Keep secrets out of everything repro writes: records, params, logs, MLflow.

Three kinds are caught:
- passwords inside URIs (``scheme://user:PASSWORD@host``) and secret-looking query
  parameters (``?token=...``);
- values under secret-looking keys (``token``, ``password``, ``api_key``, ...);
- the values of environment variables whose names look secret (``HF_TOKEN``,
  ``MLFLOW_TRACKING_PASSWORD``, ``AWS_SECRET_ACCESS_KEY``, ...), wherever they appear,
  plus strings shaped like well-known tokens (``hf_...``, ``sk-...``, ``ghp_...``).

Standard library only: the control plane and every runner import it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
SECRET_NAME = re.compile(
    r"(token(?!iz)|secret|passw(or)?d|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|auth(?!or)|session[_-]?key|signature)",
    re.IGNORECASE,
)
# `user:password@` in the authority part of a URI
_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):(?P<pw>[^@/\s]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:[^=&;#\s]*(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|sig|key)[^=&;#\s]*))="
    r"(?P<value>[^&;#\s]+)",
    re.IGNORECASE,
)
_TOKEN_SHAPES = re.compile(
    r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9\-]{10,})\b"
)
MIN_SECRET_LEN = 6  # shorter env values are too likely to match innocent text


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def uri_has_password(text: str) -> bool:
    m = _URI_PASSWORD.search(text)
    return bool(m and m.group("pw"))


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and len(v) >= MIN_SECRET_LEN}
    # a URI in the environment may carry a password even when its name looks innocent
    for v in env.values():
        m = _URI_PASSWORD.search(v)
        if m and len(m.group("pw")) >= MIN_SECRET_LEN:
            values.add(m.group("pw"))
    return sorted(values, key=len, reverse=True)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with URI passwords, secret query values, token shapes and secret env values masked."""
    if not text:
        return text
    out = _URI_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@" if m.group("pw") else m.group(0), text)
    out = _QUERY_SECRET.sub(lambda m: f"{m.group('key')}={MASK}", out)
    out = _TOKEN_SHAPES.sub(MASK, out)
    for value in secret_env_values(environ):
        out = out.replace(value, MASK)
    return out


def redact(value: Any, environ: Mapping[str, str] | None = None, _key: str = "") -> Any:
    """A copy of ``value`` (dicts, lists, strings, scalars) with every secret masked.

    A string under a secret-looking key is masked whole (``{"hf_token": "x"}``);
    other strings go through :func:`scrub`.
    """
    if isinstance(value, Mapping):
        return {k: redact(v, environ, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, environ) for v in value]
    if isinstance(value, str):
        if _key and is_secret_name(_key) and value and not _key.endswith(("_count", "_len")):
            return MASK
        return scrub(value, environ)
    return value


def redact_environ(names_like: re.Pattern[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables whose names match ``names_like``, values redacted, sorted."""
    env = os.environ if environ is None else environ
    out = {}
    for k in sorted(env):
        if names_like.search(k):
            out[k] = MASK if is_secret_name(k) else scrub(env[k], env)
    return out
