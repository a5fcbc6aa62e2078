"""``repro show --data``: prepared data sets, read back from their data cards.

Each prepare stage writes ``runs/_data/<key>/card.json`` (see docs/runner-contract.md);
this module only reads those files, so it answers instantly and never imports the ML stack.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from repro.contract.paths import DATA_ROOT
from repro.ui import table

CARD = "card.json"
SPLITS = ("train", "validation", "test")


def read_card(root: Path, key: str) -> dict[str, Any] | None:
    try:
        card = json.loads((root / DATA_ROOT / key / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def prepared_keys(root: Path) -> list[str]:
    base = root / DATA_ROOT
    if not base.is_dir():
        return []
    return sorted(p.parent.name for p in base.glob(f"*/{CARD}"))


def short_hash(value: Any, n: int = 12) -> str:
    if not isinstance(value, str) or not value:
        return "-"
    algo, _, hexd = value.partition(":")
    return f"{algo}:{hexd[:n]}" if hexd else value[:n]


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("-" if value is None else str(value))


def _loaded(card: dict[str, Any]) -> Any:
    for step in card.get("steps") or []:
        if isinstance(step, dict) and step.get("step") == "loaded":
            return step.get("rows")
    return None


def rows_cell(card: dict[str, Any]) -> str:
    splits = card.get("splits") or {}
    parts = "/".join(_num(splits.get(s, 0)) for s in SPLITS)
    return f"{_num(_loaded(card))} -> {parts}"


def tokens_total(card: dict[str, Any]) -> int | None:
    tokens = card.get("tokens")
    if not isinstance(tokens, dict):
        return None
    totals = [t.get("total") for t in tokens.values() if isinstance(t, dict)]
    return sum(x for x in totals if isinstance(x, int)) if totals else None


def source_cell(card: dict[str, Any]) -> str:
    src = card.get("source") or {}
    return str(src.get("origin") or src.get("kind") or "?")


def overview(root: Path, spec_keys: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """The table of every data set (prepared or used by a spec), and its JSON form."""
    users: dict[str, list[str]] = {}
    for spec, key in sorted(spec_keys.items()):
        users.setdefault(key, []).append(spec)
    keys = sorted(set(prepared_keys(root)) | set(users))
    rows, out = [], []
    for key in keys:
        card = read_card(root, key)
        specs = users.get(key, [])
        out.append({"key": key, "specs": specs, "prepared": card is not None, "card": card})
        used = ", ".join(specs) or "(no spec)"
        if card is None:
            rows.append([key, "-", "not prepared yet", "-", "-", "-", used])
            continue
        pinned = card.get("pinned")
        raw = (card.get("source") or {}).get("raw_hash")
        mark = "" if not pinned else (" (pinned)" if pinned == raw else " (PIN DIFFERS)")
        rows.append([key, card.get("format", "?"), source_cell(card), short_hash(raw) + mark,
                     rows_cell(card), _num(tokens_total(card)), used])
    text = table(["data set", "format", "source", "raw hash", "rows: loaded -> train/val/test",
                  "tokens (all splits)", "specs"], rows, right={5})
    return text, out


def _bar_char() -> str:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower()
    return "\u2588" if "utf" in enc else "#"


def histogram(hist: list[dict[str, Any]], width: int = 40) -> list[str]:
    """Text bars, one per bucket: ``<= upto  |#####  count``."""
    buckets = [h for h in hist if isinstance(h, dict) and "count" in h]
    if not buckets:
        return ["  (no histogram)"]
    peak = max(int(h["count"]) for h in buckets) or 1
    label_w = max(len(str(h.get("upto", "?"))) for h in buckets)
    count_w = max(len(f"{int(h['count']):,}") for h in buckets)
    bar = _bar_char()
    lines = []
    for h in buckets:
        n = int(h["count"])
        length = round(width * n / peak)
        if n and not length:
            length = 1
        label = str(h.get("upto", "?"))
        lines.append(f"  <= {label:>{label_w}}  {f'{n:,}':>{count_w}}  {bar * length}".rstrip())
    return lines


def detail(key: str, card: dict[str, Any], specs: list[str]) -> str:
    """The human summary of one data card."""
    src = card.get("source") or {}
    tok = card.get("tokenizer") or {}
    pinned = card.get("pinned")
    raw = src.get("raw_hash")
    pin = "not pinned" if not pinned else ("matches" if pinned == raw else f"DIFFERS: {pinned}")
    lines = [
        f"data set   {key}",
        f"used by    {', '.join(specs) or '(no spec in the workspace)'}",
        f"format     {card.get('format', '?')}",
        f"source     {source_cell(card)}",
        f"raw hash   {raw or '-'}  (pin: {pin})",
        f"cache key  {card.get('cache_key') or '-'}",
    ]
    if tok:
        what = " ".join(str(x) for x in (tok.get("source") or "?", tok.get("ref")) if x)
        extra = ", chat template" if tok.get("chat_template") else ""
        lines.append(f"tokenizer  {what} (vocab {_num(tok.get('vocab_size'))}{extra})")
    files = src.get("files") or []
    if files:
        lines.append(f"raw files  {len(files)} ({sum(f.get('size', 0) for f in files):,} bytes)")
    steps = [s for s in card.get("steps") or [] if isinstance(s, dict)]
    lines += ["", "cleaning and splitting:"]
    rows = []
    for s in steps:
        note = ""
        if "changed" in s:
            note = f"{_num(s['changed'])} changed"
        rows.append([s.get("step", "?"), _num(s.get("rows")),
                     _num(s.get("dropped")) if "dropped" in s else "", note])
    lines.append(table(["step", "rows", "dropped", "note"], rows, right={1, 2}))
    splits = card.get("splits") or {}
    how = f" ({card['split_method']})" if card.get("split_method") else ""
    lines.append("splits: " + ", ".join(f"{s} {_num(splits.get(s, 0))}" for s in SPLITS) + how)
    tokens = card.get("tokens")
    if isinstance(tokens, dict) and tokens:
        lines += ["", "tokens per example:"]
        trow = []
        for split in SPLITS:
            t = tokens.get(split)
            if isinstance(t, dict):
                trow.append([split, _num(t.get("examples")), _num(t.get("total")),
                             _num(t.get("min")), _num(t.get("p50")), _num(t.get("p95")),
                             _num(t.get("max")), _num(t.get("mean"))])
        lines.append(table(["split", "examples", "tokens", "min", "p50", "p95", "max", "mean"],
                           trow, right=set(range(1, 8))))
        for split in SPLITS:
            t = tokens.get(split)
            if isinstance(t, dict) and t.get("histogram"):
                lines += ["", f"token length histogram ({split}):", *histogram(t["histogram"])]
                break
    else:
        lines += ["", "tokens: none (this format is not tokenized at prepare time)"]
    dropped = [s for s in steps if s.get("samples")]
    if dropped:
        lines += ["", "samples of dropped rows:"]
        for s in dropped:
            lines.append(f"  {s.get('step', '?')} ({_num(s.get('dropped'))} dropped):")
            lines += [f"    {str(x)[:200]}" for x in s["samples"]]
    return "\n".join(lines)


def find_data_set(root: Path, want: str, entries: list, spec_keys: dict[str, str]
                  ) -> tuple[str, list[str], dict[str, Any] | None]:
    """``repro show --data KEY|SPEC``: ``(key, specs that use it, its card or None)``."""
    from repro.errors import ReproError

    known = set(prepared_keys(root)) | set(spec_keys.values())
    if want in known:
        key = want
    else:
        from repro.spec.workspace import select

        try:
            entry = select(entries, root, [want])[0]
        except ReproError:
            from repro.spec.validate import suggest

            guess = suggest(want, sorted(known | set(spec_keys)))
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ReproError(f"no data set or spec named '{want}'{hint}; "
                             "'repro show --data' lists them") from None
        if entry.name not in spec_keys:
            raise ReproError(f"spec '{entry.name}' has errors; run 'repro validate {want}'")
        key = spec_keys[entry.name]
    specs = sorted(s for s, k in spec_keys.items() if k == key)
    return key, specs, read_card(root, key)
