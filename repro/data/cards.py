"""``repro show --data``: prepared data sets, read back from their data cards.

Each prepare stage writes ``runs/_data/<key>/card.json`` (``repro.contract.records.DataCard``);
this module only reads those files, so it answers instantly and never imports the ML stack.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro.contract.paths import DATA_ROOT
from repro.contract.records import CARD, DataCard, RecordError, load_card
from repro.contract.records.data import Bucket
from repro.errors import ReproError
from repro.ui import table

SPLITS = ("train", "validation", "test")


def read_card(root: Path, key: str) -> DataCard | None:
    """The data card of prepared data set ``key``; None when it was never prepared."""
    try:
        return load_card(root / DATA_ROOT / key)
    except RecordError as e:
        raise ReproError(f"{e} (prepare the data set again: 'repro run')") from None


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


def rows_cell(card: DataCard) -> str:
    parts = "/".join(_num(card.splits.get(s, 0)) for s in SPLITS)
    return f"{_num(card.loaded_rows)} -> {parts}"


def tokens_total(card: DataCard) -> int | None:
    if not card.tokens:
        return None
    return sum(t.total for t in card.tokens.values())


def source_cell(card: DataCard) -> str:
    return str(card.source.origin or card.source.kind or "?")


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
        out.append({"key": key, "specs": specs, "prepared": card is not None,
                    "card": card.to_dict() if card is not None else None})
        used = ", ".join(specs) or "(no spec)"
        if card is None:
            rows.append([key, "-", "not prepared yet", "-", "-", "-", used])
            continue
        pinned, raw = card.pinned, card.source.raw_hash
        mark = "" if not pinned else (" (pinned)" if pinned == raw else " (PIN DIFFERS)")
        rows.append([key, card.format, source_cell(card), short_hash(raw) + mark,
                     rows_cell(card), _num(tokens_total(card)), used])
    text = table(["data set", "format", "source", "raw hash", "rows: loaded -> train/val/test",
                  "tokens (all splits)", "specs"], rows, right={5})
    return text, out


def _bar_char() -> str:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower()
    return "\u2588" if "utf" in enc else "#"


def histogram(buckets: list[Bucket], width: int = 40) -> list[str]:
    """Text bars, one per bucket: ``<= upto  |#####  count``."""
    if not buckets:
        return ["  (no histogram)"]
    peak = max(h.count for h in buckets) or 1
    label_w = max(len(str(h.upto)) for h in buckets)
    count_w = max(len(f"{h.count:,}") for h in buckets)
    bar = _bar_char()
    lines = []
    for h in buckets:
        n = h.count
        length = round(width * n / peak)
        if n and not length:
            length = 1
        label = str(h.upto)
        lines.append(f"  <= {label:>{label_w}}  {f'{n:,}':>{count_w}}  {bar * length}".rstrip())
    return lines


def detail(key: str, card: DataCard, specs: list[str]) -> str:
    """The human summary of one data card."""
    src, tok, pinned = card.source, card.tokenizer, card.pinned
    raw = src.raw_hash
    pin = "not pinned" if not pinned else ("matches" if pinned == raw else f"DIFFERS: {pinned}")
    lines = [
        f"data set   {key}",
        f"used by    {', '.join(specs) or '(no spec in the workspace)'}",
        f"format     {card.format}",
        f"source     {source_cell(card)}",
        f"raw hash   {raw or '-'}  (pin: {pin})",
        f"cache key  {card.cache_key or '-'}",
    ]
    if tok is not None:
        what = " ".join(str(x) for x in (tok.source or "?", tok.ref) if x)
        extra = ", chat template" if tok.chat_template else ""
        lines.append(f"tokenizer  {what} (vocab {_num(tok.vocab_size)}{extra})")
    if src.files:
        lines.append(f"raw files  {len(src.files)} ({sum(f.size for f in src.files):,} bytes)")
    lines += ["", "cleaning and splitting:"]
    rows = []
    for s in card.steps:
        note = f"{_num(s.changed)} changed" if s.changed is not None else ""
        rows.append([s.step, _num(s.rows), _num(s.dropped) if s.dropped is not None else "",
                     note])
    lines.append(table(["step", "rows", "dropped", "note"], rows, right={1, 2}))
    how = f" ({card.split_method})" if card.split_method else ""
    lines.append("splits: " + ", ".join(f"{s} {_num(card.splits.get(s, 0))}" for s in SPLITS)
                 + how)
    if card.tokens:
        lines += ["", "tokens per example:"]
        trow = [[split, _num(t.examples), _num(t.total), _num(t.min), _num(t.p50), _num(t.p95),
                 _num(t.max), _num(t.mean)]
                for split in SPLITS if (t := card.tokens.get(split)) is not None]
        lines.append(table(["split", "examples", "tokens", "min", "p50", "p95", "max", "mean"],
                           trow, right=set(range(1, 8))))
        for split in SPLITS:
            t = card.tokens.get(split)
            if t is not None and t.histogram:
                lines += ["", f"token length histogram ({split}):", *histogram(t.histogram)]
                break
    else:
        lines += ["", "tokens: none (this format is not tokenized at prepare time)"]
    dropped = [s for s in card.steps if s.samples]
    if dropped:
        lines += ["", "samples of dropped rows:"]
        for s in dropped:
            lines.append(f"  {s.step} ({_num(s.dropped)} dropped):")
            lines += [f"    {str(x)[:200]}" for x in s.samples]
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
