"""annover in a notebook: the results people look at show as small HTML tables (``_repr_html_``),
every value escaped (labels, task keys, messages are user data), long lists capped with
"N more"; and ``dir(repo)`` (tab completion) lists the public API, not RepoCore's plumbing.

The repository is the sample dataset with hostile user data: a label
``<img src=x onerror=alert(1)>``, a task key ``<b>rev-007</b>``, a message ``<script>``.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
from pathlib import Path

import pytest

import annover
from annover._html import ROWS, html_table
from annover.loop import suspects as suspects_mod
from annover.repo.commands import PUBLIC
from annover.repo.results import Log
from annover.store.versions import Version
from tests.conftest import EXAMPLES, ROOT

XSS = "<img src=x onerror=alert(1)>"
KEY = "<b>rev-007</b>"
MESSAGE = "<script>alert(2)</script>"
#: what a user's data must never be in the page: markup
RAW = ("<img", "<script", "<b>rev")


@pytest.fixture
def hostile(repo):
    """v1 and v2 of the sample, the label "positive" renamed XSS and task rev-007 keyed KEY."""
    root = Path(repo.root)
    (root / "labeling.xml").write_text((EXAMPLES / "labeling.xml").read_text()
                                       .replace('"positive"', '"&lt;img src=x onerror=alert(1)&gt;"'))
    for name in ("round1.json", "round2.json"):
        text = (EXAMPLES / name).read_text().replace('"positive"', f'"{XSS}"').replace('"rev-007"', f'"{KEY}"')
        (root / name).write_text(text)
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message=MESSAGE)
    repo.snapshot("round2.json", key="data.ext_id", message="round 2")
    return repo


def _shown(repo) -> dict[str, str]:
    """Each result a notebook shows, as the HTML it shows."""
    results = {"log": repo.log(), "diff": repo.diff("v1", "v2"), "status": repo.status(remote=False),
               "agreement": repo.agreement("v2"), "agreement range": repo.agreement("v1..v2"),
               "eval": repo.eval("v2"), "eval range": repo.eval("v1..v2"), "suspects": repo.suspects("v2"),
               "sample": repo.sample("v2", strategy="random", n=30, record=False),
               "dry run": repo.snapshot("round1.json", dry_run=True)}
    return {name: r._repr_html_() for name, r in results.items()}


def test_user_data_shows_as_text_in_every_result(hostile):
    shown = _shown(hostile)
    for name, page in shown.items():
        assert not [m for m in RAW if m in page], (name, page)
    label, key = "&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;rev-007&lt;/b&gt;"
    for name in ("diff", "agreement", "eval", "suspects", "sample", "dry run"):
        assert label in shown[name], name
    for name in ("suspects", "sample"):
        assert key in shown[name], name
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in shown["log"]
    assert "&lt;script&gt;" in shown["agreement range"]


def test_in_chromium_the_hostile_label_is_text_and_runs_nothing(hostile):
    """The pages in the system's Chromium (as tests/test_notebook_browser.py drives it): no
    element made of user data, no script run, and the label readable as its text."""
    pytest.importorskip("playwright.sync_api")
    browser_tests = pytest.importorskip("tests.test_notebook_browser")
    if not Path(browser_tests.CHROMIUM).exists():
        pytest.skip("needs Chromium: apt-get install chromium")
    pages = _shown(hostile)
    with browser_tests._browser() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.set_content("<html><body>" + "".join(pages.values()) + "</body></html>")
        page.wait_for_timeout(300)  # an onerror would have fired by now
        assert page.locator("img, script, b:has-text('rev-007')").count() == 0
        assert dialogs == []
        text = page.inner_text("body")
        assert text.count(XSS) >= 6 and KEY in text and MESSAGE in text


def test_the_diff_shows_its_counts_and_top_relabels(two_rounds):
    repo, v1, v2 = two_rounds
    page = repo.diff("v1", "v2")._repr_html_()
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page)
    assert f"diff v1 ({v1.id[:12]}) → v2 ({v2.id[:12]})" in page
    i = cells.index("tasks")
    assert cells[i:i + 6] == ["tasks", "20", "24", "4", "0", "0"]  # before, after, added, removed, changed
    i = cells.index("annotations")
    assert cells[i:i + 6] == ["annotations", "19", "26", "7", "0", "1"]
    i = cells.index("neutral", cells.index("to"))  # the relabels table: control, from, to, answers
    assert cells[i - 1:i + 3] == ["sentiment", "neutral", "positive", "1"]
    assert "8 task(s) with changed answers" in page
    same = repo.diff("v2", "v2")._repr_html_()
    assert "identical" in same and "relabels" not in same
    assert repr(repo.diff("v1", "v2")).startswith("DiffResult('v1' -> 'v2'")  # the repr is still one line


def test_a_table_shows_the_first_rows_then_how_many_more():
    page = html_table(["n"], [[i] for i in range(ROWS + 5)], more="the list holds them all")
    assert page.count("<tr>") == 1 + ROWS + 1  # header, rows, "N more"
    assert "… 5 more (the list holds them all)" in page and f">{ROWS - 1}<" in page and f">{ROWS}<" not in page
    assert html_table(["n"], [[1], [2]], limit=None).count("<tr>") == 3
    assert "(none)" in html_table(["a", "b"], [])
    assert "&lt;" in html_table([XSS], [[XSS]]) and "<img" not in html_table([XSS], [[XSS]], more=XSS)


def test_the_log_is_a_list_shown_as_a_table_with_tags_capped(two_rounds):
    repo, v1, v2 = two_rounds
    log = repo.log()
    assert isinstance(log, list) and log == [v2, v1] and repr(log) == repr([v2, v1])
    page = log._repr_html_()
    assert "log: 2 version(s)" in page and ">v2<" in page and ">round 1<" in page
    many = Log([Version(f"{i:064x}", {"message": f"m{i}", "stats": {"tasks": i}}) for i in range(ROWS + 7)],
               lambda: {f"{0:064x}": ["first"]})
    page = many._repr_html_()
    assert "… 7 more" in page and ">first<" in page and f">m{ROWS - 1}<" in page and f">m{ROWS}<" not in page
    assert pickle.loads(pickle.dumps(log)) == log  # the repository is not pickled with it


def test_suspects_word_only_the_rows_shown(two_rounds, monkeypatch):
    repo, _, _ = two_rounds
    res = repo.suspects("v2")
    assert res.total == 3
    monkeypatch.setattr(suspects_mod, "ROWS", 2)
    page = res._repr_html_()
    assert "… 1 more (.items, .task_keys())" in page and "rev-007" in page and "rev-003" not in page
    assert res._items is None  # the rest were not worded for the page


def test_two_models_compared_show_how_often_they_agree_and_each_ones_figures(repo):
    """``eval(model=A, against=B)``: a series of one comparison, shown as its agreement table
    and the two evaluations (not the fields of a dict)."""
    tasks = json.loads((EXAMPLES / "round2.json").read_text())
    for t in tasks:
        second = copy.deepcopy(t["predictions"])
        for p in second:
            p["model_version"], p["id"] = "bert-v2", p["id"] + 100_000
            for r in p["result"]:
                if t["id"] % 2 and r["value"].get("choices"):
                    r["value"]["choices"] = ["neutral" if r["value"]["choices"] != ["neutral"] else "positive"]
        t["predictions"] += second
    Path("two.json").write_text(json.dumps(tasks))
    repo.snapshot("two.json", config="labeling.xml", key="data.ext_id", message="two models")
    page = repo.eval("v1", model="sentiment-bert-v1", against="bert-v2")._repr_html_()
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page)
    assert "sentiment-bert-v1 vs bert-v2 at v1" in page and "on the 24 task(s) both predicted" in page
    i = cells.index("same label")
    assert cells[i + 2:i + 4] == ["sentiment", "24"]
    assert "eval of sentiment-bert-v1<" in page and "eval of bert-v2<" in page and page.count("per label") == 2


def test_status_shows_head_remote_and_what_is_not_pushed(two_rounds):
    repo, _, v2 = two_rounds
    page = repo.status(remote=False)._repr_html_()
    assert v2.id[:12] in page and "(remote not asked)" in page and "(no git remote)" in page
    page = repo.status(timeout=30)._repr_html_()
    assert "2 version(s)" in page  # the local remote has none of them


def test_dir_of_a_repo_lists_the_public_api_not_the_plumbing(repo):
    listed = {n for n in dir(repo) if not n.startswith("_")}
    assert listed == set(PUBLIC)
    assert {"diff", "log", "snapshot", "load", "suspects", "root", "resolve", "show", "config_text", "head"} <= listed
    assert not {"commit", "lock", "store", "scm", "read_table", "begin_write", "recover"} & listed
    assert callable(repo.commit) and repo.store is not None  # plumbing stays reachable
    for name in PUBLIC:
        assert hasattr(repo, name), name
    own = {n for n in vars(annover.Repo) if not n.startswith("_")}
    assert own - set(PUBLIC) == {"save_dataset_record"}  # every command's method is offered
    assert "__class__" in dir(repo) and "__repr__" in dir(repo)
    readme = (ROOT / "README.md").read_text()
    assert "dir(repo)" in readme


def test_a_notebook_shows_the_results_as_html_and_completes_the_public_api(two_rounds):
    """A real kernel: Jupyter picks the HTML, the text repr stays one line, and tab completion
    on ``repo.`` offers the public API."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    run_sync = pytest.importorskip("jupyter_core.utils").run_sync
    repo, _, _ = two_rounds
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in
                ("import annover\nrepo = annover.Repo('.')\nrepo.diff('v1', 'v2')", "repo.log()", "repo.suspects('v2')")]
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo.root)}})

    async def ask() -> dict:  # what Tab after "repo." asks the kernel
        return await client.kc.complete("repo.", 5, reply=True, timeout=60)

    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        reply = run_sync(ask)()["content"]
    data = [c.outputs[0]["data"] for c in nb.cells]
    assert all("text/html" in d and "<table" in d["text/html"] for d in data)
    assert data[0]["text/plain"].startswith("DiffResult('v1' -> 'v2'") and "\n" not in data[0]["text/plain"]
    offered = {m.removeprefix("repo.") for m in reply["matches"]}
    assert {"diff", "log", "snapshot", "suspects"} <= offered and not {"commit", "lock", "store"} & offered
