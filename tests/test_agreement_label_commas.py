"""``annover agreement``'s text names labels in its notes comma-separated, and a label is a config's
choice, which may itself hold ", " (``Yes, definitely``): such a label is quoted there, so
``'a, b', c: nobody used this label`` names two labels, not three. ``--json`` names them as they are."""

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
