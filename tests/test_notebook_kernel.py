"""The notebook annotator in a real Jupyter kernel: a notebook executed with nbclient makes an
annotator over a version, shows it, drives it through its Python handles and saves a version."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("annover.notebook.widget")

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _stdout(cell) -> str:
    return "".join(o["text"] for o in cell.outputs if o.get("name") == "stdout")


def test_a_notebook_labels_a_version_and_saves_it(two_rounds):
    repo, _, _ = two_rounds
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import annover\n"
                                  "ann = annover.annotate(annover.Repo('.'), 'v2', annotator='nb@example.com')\n"
                                  "ann"),
        nbformat.v4.new_code_cell("ann.choose('positive'); ann.skip(); ann.back(); ann.choose('negative')\n"
                                  "print(ann.progress)"),
        nbformat.v4.new_code_cell("res = ann.save(message='from a kernel')\nprint(res.tag, res.answers.num_rows)"),
    ]
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(repo.root)}}).execute()
    shown = nb.cells[0].outputs[0]
    assert WIDGET_MIME in shown["data"]  # the kernel rendered a widget, not a text repr
    assert "'labeled': 2, 'skipped': 0" in _stdout(nb.cells[1])
    assert _stdout(nb.cells[2]).strip() == "v3 2"
    keys = repo.load("v2", "tasks").column("task_key").to_pylist()
    rows = repo.diff("v2", "v3").rows.to_pylist()
    assert sorted((r["change"], r["task_key"], r["answer_key"], r["labels_b"]) for r in rows) == [
        ("added", keys[0], "nb@example.com#0", ["positive"]), ("added", keys[1], "nb@example.com#0", ["negative"])]
