"""The progress events a stage writes for ``repro run``'s live view, and its plain lines."""

from __future__ import annotations

import json

from repro.contract import progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_events_are_throttled_first_and_last_always_written(tmp_path, monkeypatch):
    events = tmp_path / "events.jsonl"
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    monkeypatch.setenv(progress.ENV, str(events))
    monkeypatch.setenv(progress.STAGE_ENV, "train-x")
    monkeypatch.setenv(progress.LINES_ENV, "0")
    said: list[str] = []
    bar = progress.task("steps", 100, label="train", say=said.append)
    for step in range(1, 101):
        clock.now += 0.01  # 100 steps/s: one event per 25 steps
        bar.update(step, loss=5.0 - step / 50)
    bar.close()
    got = [json.loads(line) for line in events.read_text().splitlines()]
    assert got[0]["done"] == 0 and got[0]["stage"] == "train-x" and got[0]["total"] == 100
    assert [e["done"] for e in got[1:-1]] == [25, 50, 75, 100]
    assert got[-1]["final"] and got[-1]["done"] == 100 and got[-1]["metrics"]["loss"] == 3.0
    assert said == []  # the parent draws: no plain lines


def test_plain_lines_every_two_seconds_when_no_parent_draws(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.delenv(progress.LINES_ENV, raising=False)
    said: list[str] = []
    bar = progress.task("examples", 200, label="evaluate perplexity", say=said.append)
    for done in range(0, 201, 20):
        clock.now += 1.0
        bar.update(done)
    assert said == [
        "evaluate perplexity: 60/200 examples  15.0 examples/s  eta 9s",
        "evaluate perplexity: 100/200 examples  16.7 examples/s  eta 6s",
        "evaluate perplexity: 140/200 examples  17.5 examples/s  eta 3s",
        "evaluate perplexity: 180/200 examples  18.0 examples/s  eta 1s",
    ]
    quick = progress.task("rows", 10, say=said.append)
    quick.update(10)
    assert len(said) == 4  # a task done within two seconds prints nothing


def test_eta_and_durations():
    assert progress.eta_seconds(25, 100, 10.0) == 30.0
    assert progress.eta_seconds(0, 100, 10.0) is None
    assert progress.eta_seconds(100, 100, 10.0) == 0.0
    assert progress.eta_seconds(5, None, 1.0) is None
    assert [progress.fmt_duration(s) for s in (None, 4.4, 75, 3725)] == [
        "?", "4s", "1:15", "1:02:05"]
