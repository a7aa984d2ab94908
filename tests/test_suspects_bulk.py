"""``annover suspects`` words its reasons in bulk (Arrow string kernels over the result's
columns) and writes ``--json`` from those columns: the same items and the same bytes as the
reference (tests/reference_suspects.py: every suspect built and worded in Python, one dict
per reason) written by :func:`annover.cli.emit_json`."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.cli import emit_json
from annover.cli.suspects_json import suspects_json
from annover.loop.suspects import suspects
from tests.reference_suspects import suspects as reference
from tests.test_cli import invoke
from tests.test_loop import answers_table, predictions_table
from tests.test_report import loop_repo  # noqa: F401  (the fixture)

#: labels that need care: quotes of both kinds, a backslash, a comma (as the multi-label join
#: writes one), an escape and a bidi override, a line separator, non-ASCII letters
TRICKY = ["a", "b", "it's", 'say "hi"', "back\\slash", "x, y", "\x1b[31m", "\u202eevil", "l\u2028s", "é",
          "日本", "\x85c1"]
WHO = ["w0", "w1", "w2", "w'3", "\u00e9v\u00e8", 'w"5', "w\x07"]


def emitted(doc: dict) -> str:
    """What :func:`annover.cli.emit_json` writes of ``doc``."""
    with CliRunner().isolation() as (out, _, _):
        emit_json(doc)
        return out.getvalue().decode()


def written(res) -> str:
    """What ``annover suspects --json`` writes of ``res``."""
    with CliRunner().isolation() as (out, _, _):
        click.echo(suspects_json(res))
        return out.getvalue().decode()


def _versions(data):
    tasks = [f"t{i}" for i in range(data.draw(st.integers(1, 6)))]
    label = st.lists(st.sampled_from(TRICKY), min_size=1, max_size=3)  # multi-label answers too
    row = st.tuples(st.sampled_from(tasks), st.sampled_from(WHO), st.sampled_from(["ctl", "other"]), label,
                    st.booleans())

    def answers(rows: list) -> "object":
        seen, out = set(), []
        for t, w, c, lab, skip in rows:
            if (t, w, c) not in seen:
                seen.add((t, w, c))
                out.append({"task": t, "who": w, "control": c, "labels": None if skip else lab, "key": f"{w}#{c}"})
        return answers_table(out)

    ann = answers(data.draw(st.lists(row, max_size=50)))
    prev = answers(data.draw(st.lists(row, max_size=50))) if data.draw(st.booleans()) else None
    # scores on and off Python's rounding ties, equal scores (ties in the ranking), negative zero
    score = st.one_of(st.floats(0, 1), st.sampled_from([0.125, 0.375, 0.9765625, 0.995, 0.5, 1.0, 0.0, -0.0]))
    prow = st.fixed_dictionaries({"task": st.sampled_from(tasks), "model": st.sampled_from(["m1", "m'2", "m\u202e3"]),
                                  "labels": label, "score": score, "control": st.sampled_from(["ctl", "other"])})
    seen: set = set()
    preds = [p for p in data.draw(st.lists(prow, max_size=14))
             if (k := (p["task"], p["model"], p["control"])) not in seen and not seen.add(k)]
    ptable = predictions_table([{**p, "key": f"{p['model']}#{p['control']}"} for p in preds]) if preds else None
    return ann, ptable, prev


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bulk_wording_and_json_are_the_reference_s(data):
    """Random versions (several annotators, multi-label answers, unicode labels with quotes and
    escapes, predictions with tied and rounding-edge scores, an earlier version): the items
    are the reference's; ``--json`` is emit_json's bytes of them; the top n are the first n;
    the keys ``--out`` writes are the JSON's tasks in order."""
    ann, preds, prev = _versions(data)
    kw = {"threshold": data.draw(st.sampled_from([0.0, 0.5, 0.9])),
          "policy": data.draw(st.sampled_from(["latest", "majority", "ground-truth"])),
          "since": data.draw(st.sampled_from(["v1", "r\u00e9v'1"])) if prev is not None else None}
    want = reference(ann, preds, prev, **kw).to_json()
    res = suspects(ann, preds, prev, **kw)
    assert res.items == want["suspects"]
    doc = {"suspects": want["suspects"], "total": len(want["suspects"]), "counts": want["counts"],
           "notes": want["notes"], "options": want["options"]}
    assert written(res) == emitted(doc)
    assert res.task_keys() == list(dict.fromkeys(i["task_key"] for i in want["suspects"]))
    n = data.draw(st.integers(0, 6))
    assert res.top(n) == want["suspects"][:n]
    top = suspects(ann, preds, prev, limit=n, **kw)
    assert top.items == want["suspects"][:n] and top.total == len(want["suspects"])
    assert written(top) == emitted({**doc, "suspects": want["suspects"][:n]})


def test_json_and_out_of_a_repository_are_the_reference_s(loop_repo, tmp_path):  # noqa: F811
    """On a real repository (three rounds, a model's predictions): ``--json`` is byte for byte
    what emit_json writes of its items, its classification items the reference's in order (the
    rounds' entity spans give region items too, which the reference does not know), and
    ``--out`` its tasks in order."""
    v, prev = loop_repo.show("v3"), loop_repo.show("v2")
    want = reference(loop_repo.load(v.id, "annotations"), loop_repo.load(v.id, "predictions"),
                     loop_repo.load(prev.id, "annotations"), since="v2").to_json()
    code, out, err = invoke("suspects", "v3", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert len(want["suspects"]) > 10 and {"majority", "model", "changed"} <= set(want["counts"])
    assert [i for i in got["suspects"] if "region" not in i] == want["suspects"]
    assert any("region" in i for i in got["suspects"]) and got["total"] == len(got["suspects"])
    assert out == emitted(got)
    keys = tmp_path / "keys.txt"
    code, out, err = invoke("suspects", "v3", "--out", str(keys), "-n", "4")
    assert code == 0, err
    assert keys.read_text().splitlines() == list(dict.fromkeys(i["task_key"] for i in got["suspects"]))
    assert [ln.split()[1] for ln in out.splitlines()[1:]] == [i["task_key"] for i in got["suspects"][:4]]
