"""The blind side-by-side sheet: one self-contained HTML page (no network), filled per sheet."""

from __future__ import annotations

import json
from string import Template
from typing import Any

PAGE = Template(r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Side-by-side judgments, sheet $sheet_id</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 62rem; padding: 1rem; color: #111; }
header { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
#bar { flex: 1; min-width: 10rem; height: .6rem; background: #e5e5e5; border-radius: .3rem; overflow: hidden; }
#fill { height: 100%; width: 0; background: #2f7d32; }
.prompt, .ref { background: #f5f5f5; padding: .6rem .8rem; border-radius: .4rem; white-space: pre-wrap; }
.ref { background: #eef4ff; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0; }
.side { border: 2px solid #ccc; border-radius: .4rem; padding: .6rem .8rem; white-space: pre-wrap; min-height: 3rem; }
.side h3 { margin: 0 0 .4rem; font-size: .9rem; color: #555; }
.chosen { border-color: #2f7d32; background: #f1f8f1; }
.buttons button { margin: .2rem .3rem .2rem 0; padding: .4rem .8rem; font-size: 1rem; }
.buttons button.on { outline: 3px solid #2f7d32; }
kbd { border: 1px solid #999; border-bottom-width: 2px; border-radius: .2rem; padding: 0 .25rem; font-size: .8rem; }
#status { min-height: 1.4rem; color: #a33; }
.help { color: #555; font-size: .85rem; }
</style>
</head>
<body>
<header>
  <strong>Which answer is better?</strong>
  <label>Annotator <input id="annotator" size="12" placeholder="your name" autocomplete="off"></label>
  <span id="position"></span>
  <div id="bar"><div id="fill"></div></div>
  <span id="progress"></span>
</header>
<p class="help">Judge each item: <kbd>1</kbd>/<kbd>A</kbd>/<kbd>&larr;</kbd> left better,
<kbd>2</kbd>/<kbd>B</kbd>/<kbd>&rarr;</kbd> right better, <kbd>3</kbd>/<kbd>T</kbd> tie,
<kbd>4</kbd>/<kbd>X</kbd> both bad; <kbd>N</kbd>/<kbd>P</kbd> next/previous item;
<kbd>S</kbd> save your judgments to a file, which you hand back. Work is kept in this browser
until you save. The sides are shuffled: left and right say nothing about which system it is.</p>
<h2 id="title"></h2>
<div class="prompt" id="prompt"></div>
<p id="refline"><strong>Reference answer:</strong> <span class="ref" id="reference"></span></p>
<div class="sides">
  <div class="side" id="sideA"><h3>A (left)</h3><div id="a"></div></div>
  <div class="side" id="sideB"><h3>B (right)</h3><div id="b"></div></div>
</div>
<div class="buttons">
  <button data-v="A">A is better</button><button data-v="B">B is better</button>
  <button data-v="tie">Tie</button><button data-v="both_bad">Both bad</button>
  <button id="prev">Previous</button><button id="next">Next</button>
  <button id="save">Save judgments</button>
</div>
<p id="status" role="status"></p>
<script type="application/json" id="sheet-data">$data</script>
<script>
"use strict";
const SHEET = JSON.parse(document.getElementById("sheet-data").textContent);
const STORE = "repro-human-" + SHEET.sheet_id;
const KEYS = {"1": "A", "a": "A", "ArrowLeft": "A", "2": "B", "b": "B", "ArrowRight": "B",
              "3": "tie", "t": "tie", "4": "both_bad", "x": "both_bad"};
let state = {annotator: "", verdicts: {}, at: 0};
try { Object.assign(state, JSON.parse(localStorage.getItem(STORE) || "{}")); } catch (e) {}
const $$ = (id) => document.getElementById(id);
function keep() { try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) {} }
function judged() { return Object.keys(state.verdicts).length; }
function show() {
  const it = SHEET.items[state.at];
  $$("title").textContent = "Item " + it.item;
  $$("position").textContent = "item " + (state.at + 1) + " / " + SHEET.items.length;
  $$("prompt").textContent = it.prompt;
  $$("reference").textContent = it.reference;
  $$("refline").hidden = it.reference === null || it.reference === "";
  $$("a").textContent = it.a;
  $$("b").textContent = it.b;
  const v = state.verdicts[it.item];
  $$("sideA").classList.toggle("chosen", v === "A");
  $$("sideB").classList.toggle("chosen", v === "B");
  document.querySelectorAll("button[data-v]").forEach(
    (b) => b.classList.toggle("on", b.dataset.v === v));
  $$("progress").textContent = judged() + " of " + SHEET.items.length + " judged";
  $$("fill").style.width = (100 * judged() / SHEET.items.length) + "%";
  $$("annotator").value = state.annotator;
}
function go(step) {
  state.at = Math.min(SHEET.items.length - 1, Math.max(0, state.at + step));
  keep(); show();
}
function judge(verdict) {
  state.verdicts[SHEET.items[state.at].item] = verdict;
  $$("status").textContent = "";
  const n = SHEET.items.length;
  for (let k = 1; k <= n; k++) {  // on to the next item not judged yet
    const j = (state.at + k) % n;
    if (!(SHEET.items[j].item in state.verdicts)) { state.at = j; break; }
  }
  keep(); show();
  if (judged() === n) { $$("status").textContent = "All items judged: press S to save."; }
}
function save() {
  const who = state.annotator.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$$/.test(who)) {
    $$("status").textContent = "Type your name (letters, digits, . _ -) in Annotator first.";
    $$("annotator").focus();
    return;
  }
  const items = Object.keys(state.verdicts).map(Number).sort((x, y) => x - y);
  const lines = items.map((i) => '    {"item": ' + i + ', "verdict": "' + state.verdicts[i] + '"}');
  const text = '{\n  "human_judgments_version": 1,\n  "sheet_id": ' + JSON.stringify(SHEET.sheet_id) +
    ',\n  "annotator": ' + JSON.stringify(who) + ',\n  "judgments": [\n' + lines.join(",\n") +
    "\n  ]\n}\n";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: "application/json"}));
  a.download = "judgments-" + who + ".json";
  document.body.appendChild(a); a.click(); a.remove();
  $$("status").textContent = "Saved " + items.length + " judgment(s) as " + a.download +
    ": hand that file back.";
}
$$("annotator").addEventListener("input", (e) => { state.annotator = e.target.value; keep(); });
$$("annotator").addEventListener("keydown", (e) => { if (e.key === "Enter") e.target.blur(); });
document.querySelectorAll("button[data-v]").forEach(
  (b) => b.addEventListener("click", () => judge(b.dataset.v)));
$$("prev").addEventListener("click", () => go(-1));
$$("next").addEventListener("click", () => go(1));
$$("save").addEventListener("click", save);
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (k in KEYS) { judge(KEYS[k]); }
  else if (k === "n" || k === "j" || k === "ArrowDown") { go(1); }
  else if (k === "p" || k === "k" || k === "ArrowUp") { go(-1); }
  else if (k === "s") { save(); }
  else { return; }
  e.preventDefault();
});
show();
</script>
</body>
</html>
""")


def render(sheet_id: str, items: list[dict[str, Any]]) -> str:
    """The page for ``items`` (``item``, ``prompt``, ``reference``, ``a``, ``b``): no spec
    names, no side key, nothing loaded from the network."""
    data = json.dumps({"sheet_id": sheet_id, "items": items}, ensure_ascii=True, indent=1)
    return PAGE.substitute(sheet_id=sheet_id, data=data.replace("</", "<\\/"))
