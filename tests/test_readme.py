"""The README's tour, run as written: every ```console command and every spec it shows.

Rules (so the README cannot drift from the product):
- A ```console block is a shell session: lines starting with ``$ `` are commands, the lines
  under one are its output. The test runs the commands in order, in one scratch folder, with
  the project's interpreter first on PATH (what ``source .venv/bin/activate`` gives a reader).
  ``cd`` and ``$?`` carry over from one command to the next, as in a terminal.
- The output a command prints (stdout and stderr together) must be exactly the lines shown,
  except that a line ``...`` stands for any number of lines, and durations (``53.6 s``,
  ``180 ms``) are masked. Nothing else is masked: results are bit-reproducible on CPU
  (``determinism.threads: 1``), so the README shows the real numbers.
- A command may exit non-zero only if the output shown for it reports an error.
- A ```yaml block whose first line is ``# <path>.yaml`` is a file of the tour: it is written,
  exactly as shown, when the tour reaches it. Every yaml block in the README must be one.
- ```bash blocks are not run (setting up and running the shipped pipeline takes minutes); their
  text is checked instead.

Set ``README_TOUR_PRINT=1`` to print what each command really printed (to update the README).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT

README = ROOT / "README.md"
README_LIMIT = 15 * 1024
SETUP_AND_RUN = "bash scripts/setup.sh && .venv/bin/repro"
SETUP_AND_TEST = "bash scripts/setup.sh && .venv/bin/python -m pytest -q"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
DURATION = re.compile(r"\b\d+(?:\.\d+)? (?:ms|s)\b")
FILE_HEADER = re.compile(r"^# (\S+\.ya?ml)\b")


@dataclass
class Command:
    line: str
    shown: list[str] = field(default_factory=list)


@dataclass
class SpecFile:
    path: str
    text: str


def tour(text: str) -> list[Command | SpecFile]:
    """The README's console commands and spec files, in the order a reader meets them."""
    steps: list[Command | SpecFile] = []
    for m in FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        if lang == "yaml":
            header = FILE_HEADER.match(body)
            assert header, f"a yaml block the tour cannot write (no '# path.yaml' line):\n{body}"
            steps.append(SpecFile(header.group(1), body))
        elif lang == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    steps.append(Command(line[2:]))
                else:
                    assert steps and isinstance(steps[-1], Command), f"output before a command: {line}"
                    steps[-1].shown.append(line)
    return steps


def normalise(line: str) -> str:
    return DURATION.sub("<duration>", line.rstrip())


def matches(shown: list[str], actual: list[str]) -> bool:
    """``actual`` is ``shown``, with each ``...`` line standing for any lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(normalise(line)) + r"\n"
        for line in shown
    )
    text = "".join(normalise(line) + "\n" for line in actual)
    return re.fullmatch(pattern, text) is not None


def shell_env(bindir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "VIRTUAL_ENV"))}
    # unbuffered: stdout and stderr interleave as they would on a terminal
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1",
               DVC_NO_ANALYTICS="1", PYTHONUNBUFFERED="1")
    return env


def test_readme_is_a_landing_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < README_LIMIT, "README.md is for landing; move detail to docs/"
    bash = [body.strip() for lang, body in FENCE.findall(text) if lang == "bash"]
    assert SETUP_AND_RUN in bash and SETUP_AND_TEST in bash
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), f"README links to a missing file: {link}"


def test_readme_tour_runs_as_shown(tmp_path):
    steps = tour(README.read_text(encoding="utf-8"))
    assert any(isinstance(s, Command) for s in steps)
    bindir = Path(sys.executable).parent
    env = shell_env(bindir)
    prelude = ""
    if shutil.which("repro", path=str(bindir)) is None:  # pytest run from an env without the script
        prelude = f'repro() {{ {sys.executable!s} -m repro.cli "$@"; }}\n'
    cwd = tmp_path / "repro"  # where a reader stands: the checkout (nothing in it is used)
    cwd.mkdir()
    pwd_file = tmp_path / ".pwd"
    printing = os.environ.get("README_TOUR_PRINT") == "1"
    failures = []
    rc = 0
    for step in steps:
        if isinstance(step, SpecFile):
            target = cwd / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text, encoding="utf-8")
            continue
        script = f"{prelude}(exit {rc})\n{step.line}\n__rc=$?\npwd > '{pwd_file}'\nexit $__rc\n"
        proc = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
        actual = proc.stdout.splitlines()
        rc = proc.returncode
        cwd = Path(pwd_file.read_text().strip())
        if printing:
            print(f"$ {step.line}   (exit {rc})\n" + "\n".join(actual))
        reports_error = any("error" in line.lower() for line in step.shown)
        if rc != 0 and not reports_error:
            failures.append(f"$ {step.line}\nexited {rc}:\n" + "\n".join(actual))
        elif not matches(step.shown, actual):
            failures.append(f"$ {step.line}\nREADME shows:\n" + "\n".join(step.shown)
                            + "\nbut it printed:\n" + "\n".join(actual))
    assert not failures, "\n\n".join(failures)


def test_tour_reader_and_matcher():
    """What the rules above mean, on a small example (so a lax matcher cannot pass the tour)."""
    steps = tour("```yaml\n# specs/a.yaml\nseed: 1\n```\n\n```console\n$ repro x\nok\n...\n"
                 "done in 1.2 s.\n$ echo hi\n```\n")
    assert steps == [SpecFile("specs/a.yaml", "# specs/a.yaml\nseed: 1\n"),
                     Command("repro x", ["ok", "...", "done in 1.2 s."]), Command("echo hi")]
    shown = ["ok", "...", "done in 1.2 s."]
    assert matches(shown, ["ok", "done in 53.6 s."])
    assert matches(shown, ["ok", "a", "b", "done in 0.1 s."])
    assert not matches(shown, ["ok", "done in 1.2 s.", "extra"])
    assert not matches(shown, ["ok!", "done in 1.2 s."])
    assert not matches(["ppl 20.0364"], ["ppl 20.0365"])
    assert matches([], []) and not matches([], ["unexpected"])
