"""``annover agreement``'s text names labels in its notes comma-separated, and a label is a config's
choice, which may itself hold ", " (``Yes, definitely``): such a label is quoted there, so
``'a, b', c: nobody used this label`` names two labels, not three; ``annover eval``'s confusions of a
multi-label control, whose label sets are written ``a, b``, quote it too. ``--json`` names them as they are."""

from __future__ import annotations

import json

from .test_cli import invoke

CONFIG = """<View><Text name="text" value="$text"/>
  <Choices name="answer" toName="text"><Choice value="a, b"/><Choice value="c"/><Choice value="d"/>
    <Choice value="e"/></Choices>
</View>
"""


def test_a_label_holding_a_comma_is_quoted_in_the_notes(repo, tmp_path):
    def ann(n, who, label):
        return {"id": n, "completed_by": {"email": who}, "result": [
            {"from_name": "answer", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]}
    tasks = [{"id": i, "data": {"text": f"t{i}"}, "annotations": [ann(2 * i, "ann@example.com", "d"),
                                                                  ann(2 * i + 1, "bob@example.com", "d")]}
             for i in range(3)]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(CONFIG)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="commas")
    code, out, err = invoke("agreement")
    assert code == 0, err
    assert "  note: 'a, b', c, e: nobody used this label" in out.splitlines()
    code, out, err = invoke("agreement", "--json")
    assert json.loads(out)["controls"]["answer"]["labels"]["a, b"]["krippendorff_alpha"]["note"] == \
        "nobody used this label"


def test_eval_quotes_a_label_holding_a_comma_among_a_set_s_labels(repo, tmp_path):
    config = CONFIG.replace('<Choices name="answer" toName="text">', '<Choices name="answer" toName="text" '
                            'choice="multiple">')
    def choice(labels):
        return [{"from_name": "answer", "to_name": "text", "type": "choices", "value": {"choices": labels}}]
    # label -> prediction: {a, b} -> {a, b}; {a, b}+c -> c; c -> {a, b}+c; d -> nothing
    pairs = [(["a, b"], ["a, b"]), (["a, b", "c"], ["c"]), (["c"], ["a, b", "c"]), (["d"], [])]
    tasks = [{"id": i, "data": {"text": f"t{i}"},
              "annotations": [{"id": i, "completed_by": {"email": "ann@example.com"}, "result": choice(lab)}],
              "predictions": [{"model_version": "m", "score": 0.9, "result": choice(pred)}]}
             for i, (lab, pred) in enumerate(pairs)]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(config)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="sets")
    code, out, err = invoke("eval")
    assert code == 0, err
    head, *rows = [line.split("  ") for line in out.split("columns: predicted):\n")[1].splitlines()]
    cells = [[c.strip() for c in row if c.strip()] for row in [head, *rows]]
    assert cells[0] == ["(none)", "'a, b'", "'a, b', c", "c", "d"]
    assert [r[0] for r in cells[1:]] == ["(none)", "'a, b'", "'a, b', c", "c", "d"]
    doc = json.loads(invoke("eval", "--json")[1])["controls"]["answer"]
    assert doc["confusion"]["labels"] == ["(none)", "a, b", "a, b, c", "c", "d"]
