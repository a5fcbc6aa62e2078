"""Secrets are masked before anything is written: URIs, secret-looking keys and env values."""

from __future__ import annotations

import pytest

from repro.contract.secrets import MASK, redact, redact_environ, scrub, uri_has_password
from repro.errors import SpecErrors
from repro.spec.loader import load_spec_file
from repro.spec.validate import validate_doc
from tests.specs import spec, to_yaml

ENV = {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwx", "MY_DB_PASSWORD": "hunter2hunter2",
       "TOKENIZERS_PARALLELISM": "false", "PWD": "/home/me/project", "HOME": "/home/me"}


def test_scrub_masks_uri_passwords_queries_tokens_and_env_values():
    assert scrub("postgresql://alice:s3cr3t@db:5432/x", {}) == f"postgresql://alice:{MASK}@db:5432/x"
    assert scrub("https://h/x?token=abc&page=2", {}) == f"https://h/x?token={MASK}&page=2"
    assert scrub("use sk-abcdefghijklmnopqrstuvwxyz12 now", {}) == f"use {MASK} now"
    assert scrub("db pw is hunter2hunter2!", ENV) == f"db pw is {MASK}!"
    # not secrets: the working directory, a user name in a URI, ordinary words
    assert scrub("/home/me/project/runs", ENV) == "/home/me/project/runs"
    assert scrub("http://alice@h/x false", ENV) == "http://alice@h/x false"


def test_redact_masks_secret_keys_but_not_lookalikes():
    value = {"hf_token": "abc", "tokenizer": {"kind": "bpe"}, "max_new_tokens": 8,
             "author": "me", "nested": [{"api_key": "k"}, "postgres://u:pw@h/d"]}
    assert redact(value, {}) == {"hf_token": MASK, "tokenizer": {"kind": "bpe"},
                                 "max_new_tokens": 8, "author": "me",
                                 "nested": [{"api_key": MASK}, f"postgres://u:{MASK}@h/d"]}


def test_recorded_environment_variables_are_masked():
    import re

    out = redact_environ(re.compile(r"^(HF_|MY_|TOKENIZERS_)"), ENV)
    assert out == {"HF_TOKEN": MASK, "MY_DB_PASSWORD": MASK, "TOKENIZERS_PARALLELISM": "false"}


def _validate(tmp_path, uri: str):
    f = tmp_path / "s.yaml"
    f.write_text(to_yaml(spec("pretrain", {"tracking": {"mlflow": True, "tracking_uri": uri}})))
    return validate_doc(load_spec_file(f, tmp_path))


def test_a_password_in_the_tracking_uri_is_refused_before_it_reaches_params(tmp_path):
    assert uri_has_password("http://alice:pw@h/")
    with pytest.raises(SpecErrors) as e:
        _validate(tmp_path, "http://alice:PlantedPw@mlflow.example/")
    (err,) = e.value.errors
    assert err.field == "tracking.tracking_uri" and "${SOME_ENV_VAR}" in err.message
    checked = _validate(tmp_path, "http://alice:${MLFLOW_PW}@mlflow.example/")
    assert checked.tracking.tracking_uri == "http://alice:${MLFLOW_PW}@mlflow.example/"
