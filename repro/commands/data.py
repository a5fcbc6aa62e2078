"""Verbs about data sets: ``pin`` and ``show --data``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from repro.commands import EXIT_FAILED, EXIT_OK, load_specs, workspace_root, writes
from repro.errors import ReproError
from repro.ui import style


@writes("pin")
def cmd_pin(args: argparse.Namespace) -> int:
    from repro.data.pin import pin_specs

    root = workspace_root(args)
    if getattr(args, "external", None):
        return _pin_external(root, args.external)
    if not args.specs:
        raise ReproError("name the spec(s) to pin, e.g. 'repro pin specs/my-spec.yaml'")
    _, selected = load_specs(args, root)
    results = pin_specs(root, selected, check=args.check)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            if args.check:
                if r.status == "ok":
                    print(f"{style('ok', 'green')}: {r.file}: data.hash matches {r.source} "
                          f"({r.hash})")
                else:
                    print(f"{r.file}: data.hash "
                          f"{'is not set' if r.previous is None else 'differs'}:\n"
                          f"  pinned  {r.previous or '-'}\n  actual  {r.hash}   ({r.source})\n"
                          f"  'repro pin {r.file}' writes the actual hash", file=sys.stderr)
            elif r.status == "unchanged":
                print(f"{r.file}: data.hash already {r.hash} ({r.source}); nothing written")
            else:
                print(f"{r.file}: {r.status} data.hash: {r.hash} ({r.source})")
                if r.previous:
                    print(f"  was {r.previous}")
                if r.note:
                    print(f"  {r.note}")
    if args.check and any(r.status != "ok" for r in results):
        return EXIT_FAILED
    return EXIT_OK


def _pin_external(root: Path, name: str) -> int:
    """``repro pin --external NAME``: print the hash to write into repro.yaml's entry."""
    from repro.contract.hashing import hash_path
    from repro.contract.paths import WORKSPACE_CONFIG, PathRefused, external_entry

    try:
        external_entry(root, name)
        print(f"{WORKSPACE_CONFIG}: external_data.{name}: hash already pinned; nothing to do")
        return EXIT_OK
    except PathRefused as e:
        if "no pinned hash" not in e.message:
            raise ReproError(f"{e.message} ({e.hint})") from None
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load((root / WORKSPACE_CONFIG).read_text(encoding="utf-8"))
    path = Path(doc["external_data"][name]["path"])
    if not path.exists():
        raise ReproError(f"{WORKSPACE_CONFIG}: external_data.{name}.path: {path} not found")
    digest, files = hash_path(path)
    print(f"{WORKSPACE_CONFIG}: external_data.{name}: {len(files)} file(s) under {path}\n"
          f"  hash: {digest}\ncheck the data, then add that line to the entry")
    return EXIT_OK


def show_data(args: argparse.Namespace, root: Path) -> int:
    """``repro show --data [KEY|SPEC]``: every data set, or one in detail."""
    from repro.data.cards import detail, find_data_set, overview
    from repro.pipeline.compiler import spec_keys
    from repro.spec.workspace import load_workspace

    if len(args.specs) > 1:
        raise ReproError("show --data takes at most one data set key or spec")
    try:
        entries = load_workspace(root)
    except ReproError:
        entries = []
    keys = spec_keys(root, entries)
    if not args.specs:
        text, rows = overview(root, keys)
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no data sets: no valid spec and nothing prepared under runs/_data/")
        else:
            print(text)
        return EXIT_OK
    key, specs, card = find_data_set(root, args.specs[0], entries, keys)
    if args.json:
        print(json.dumps({"key": key, "specs": specs, "prepared": card is not None,
                          "card": card.to_dict() if card is not None else None}, indent=2))
        return EXIT_OK
    if card is None:
        run = f"repro run {specs[0]}" if specs else "repro"
        print(f"data set {key} is not prepared yet (used by {', '.join(specs) or 'no spec'}); "
              f"'{run}' prepares it")
        return EXIT_OK
    print(detail(key, card, specs))
    return EXIT_OK
