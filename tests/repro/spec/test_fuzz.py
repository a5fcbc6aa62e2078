"""Property tests of the loader and the ``--set`` parser: random YAML and random overrides
never raise out of ``repro validate`` (no traceback), never change a file, and always exit
0 or 2. Derandomized (the same examples every run) and bounded, so CI stays under a minute."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.cli import main
from repro.errors import SpecError
from repro.spec.loader import parse_override
from tests.conftest import TINY_PRETRAIN, TINY_SFT, make_workspace, tree_digest

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
FIELDS = ["seed", "name", "spec_version", "extends", "data", "data.source", "data.source.path",
          "data.source.builtin", "data.source.size", "data.format", "data.columns",
          "data.columns.output", "data.split.validation", "data.split.group_by", "data.hash",
          "data.clean.dedupe", "data.tokenizer.vocab_size", "model.base", "model.base.spec",
          "model.base.path", "model.base.config.hidden_size", "train", "train.method",
          "train.max_steps", "train.batch_size", "train.max_length", "train.optimizer.lr",
          "train.optimizer.name", "train.peft", "train.peft.r", "train.distributed.config_file",
          "evaluate.metrics", "evaluate.max_examples", "tracking.tracking_uri", "search"]
NAMES = st.sampled_from(FIELDS) | st.text("abcxyz_.-0[]", min_size=1, max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(["/etc/passwd", "../../x", "~/.ssh/id_rsa", "external:x",
                              "data/x.jsonl", "tiny", "lora", "sft", "pretrain", "-1", "1e999"]))
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4)
                      | st.dictionaries(NAMES, kids, max_size=4), max_leaves=12)
BASE = yaml.safe_load(TINY_SFT)


def _with(doc: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(doc)
    cur = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = cur.get(p) if isinstance(cur, dict) else None
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value
    return out


@st.composite
def spec_texts(draw) -> str:
    """A spec-shaped document with random fields replaced, or random YAML, or broken text."""
    kind = draw(st.sampled_from(["edit", "random", "mangled", "text"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "random":
        return yaml.safe_dump(draw(VALUES), allow_unicode=True)
    doc = BASE
    for _ in range(draw(st.integers(1, 3))):
        doc = _with(doc, draw(st.sampled_from(FIELDS)), draw(VALUES))
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if kind == "mangled" and text:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\t", ":", "- ", "{", "&a", "*a", "!!python/object ",
                                                 "\n  ", "'", "\x00", "\ufeff"])) + text[at:]
    return text


def _ws(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT})
    (ws / "data").mkdir()
    (ws / "data" / "x.jsonl").write_text('{"instruction": "1+1", "output": "2"}\n' * 10)
    return ws


def test_random_specs_exit_0_or_2_and_change_nothing(tmp_path, capsys):
    ws = _ws(tmp_path)

    @SETTINGS
    @given(spec_texts())
    def check(text):
        (ws / "specs" / "fuzz.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        before = tree_digest(ws)
        rc = main(["-C", str(ws), "validate", "fuzz"])
        out = capsys.readouterr()
        assert rc in (0, 2), out.err
        assert "Traceback" not in out.err
        assert tree_digest(ws) == before

    check()


def test_random_overrides_exit_0_or_2_and_change_nothing(tmp_path, capsys):
    ws = _ws(tmp_path)
    before = tree_digest(ws)
    override = st.builds(lambda k, v, raw: f"{k}={raw if raw is not None else yaml.safe_dump(v).strip()}",
                         NAMES, VALUES, st.none() | st.text(max_size=15))

    @SETTINGS
    @given(st.lists(override | st.text(max_size=20), min_size=1, max_size=3),
           st.sampled_from(["validate", "show", "plan"]))
    def check(overrides, verb):
        args = ["-C", str(ws), verb, "sft"]
        for o in overrides:
            args.append(f"--set={o}")  # (`--set -x` is argparse's usage error: exit 2 too)
        if verb == "plan":  # only as far as validation: a valid plan would start a runner
            args = ["-C", str(ws), "validate", "sft", *args[4:]]
        rc = main(args)
        out = capsys.readouterr()
        assert rc in (0, 2), out.err
        assert "Traceback" not in out.err
        assert tree_digest(ws) == before

    check()


@SETTINGS
@given(st.text(max_size=40))
def test_parse_override_returns_or_raises_a_spec_error(text):
    try:
        parts, _ = parse_override(text)
    except SpecError as e:
        assert e.format().startswith("--set ")
    else:
        assert parts and all(parts)
