"""What an audit of the Python API as a data scientist uses it (scripts and notebooks) found,
on real repositories made from the shared corpus's Label Studio exports, with real git and DVC:
an empty path that the CLI refuses but the API took as the current folder (``annover.init("")``
made the current folder a repository), a path or a count of the wrong type that ended in a
bare TypeError from deep inside, a timeout of -1 reported as the remote not answering,
``eval``/``suspects`` that did not take the CLI's ``--resolve`` and ``--model`` by those names,
and reprs a notebook cell cannot read."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.errors import UsageError

from .conftest import git, shared_corpus

LS = shared_corpus("label-studio")


@pytest.fixture
def bbox_repo(tmp_path):
    """Two versions of boxes with model predictions (``model 0``, then ``1``) and three annotators."""
    r = annover.init(tmp_path / "boxes")
    r.snapshot(str(LS / "sdk_bbox_reviews_predictions.json"), config=str(LS / "sdk_bbox_reviews_predictions.xml"),
               message="boxes")
    r.snapshot(str(LS / "evalme_bbox_multi.json"), config=str(LS / "evalme_bbox_multi.xml"), message="three")
    return r


@pytest.fixture
def sentiment_repo(tmp_path):
    r = annover.init(tmp_path / "sentiment")
    r.snapshot(str(LS / "fe_sentiment_two_annotators.json"), config=str(LS / "fe_sentiment_two_annotators.xml"),
               message="one")
    return r


def test_init_of_the_empty_string_is_refused_and_makes_nothing(tmp_path, monkeypatch):
    """``annover init ''`` is exit 2; ``annover.init("")`` made the current folder a repository
    (git init, .dvc, a commit): an unset variable must not init wherever the notebook runs."""
    here = tmp_path / "notebooks"
    here.mkdir()
    monkeypatch.chdir(here)
    for call in (lambda: annover.init(""), lambda: annover.Repo.init("")):
        with pytest.raises(UsageError, match=r"path='': it is empty"):
            call()
    assert list(here.iterdir()) == []


@pytest.mark.parametrize("value, said", [("", r"repo='': it is empty"), (3, r"repo=3 is int, not a path")])
def test_a_repo_that_is_no_path_is_a_usage_error(sentiment_repo, value, said, monkeypatch):
    monkeypatch.chdir(sentiment_repo.root)  # "" was the current folder: it read this repository
    for call in (lambda: annover.load("v1", repo=value), lambda: annover.diff("v1", "v1", repo=value),
                 lambda: annover.export("v1", "jsonl", "x.jsonl", repo=value)):
        with pytest.raises(UsageError, match=said):
            call()
    with pytest.raises(UsageError, match=r"path=3 is int, not a path"):
        annover.Repo(3)


def test_empty_paths_are_refused_as_the_cli_refuses_them(sentiment_repo, tmp_path):
    """``out=""`` said ". exists (a folder)", ``snapshot("")`` read the current folder as a
    training-format folder, ``config=""`` was taken as no config."""
    r = sentiment_repo
    export = LS / "sdk_history_sentiment.json"
    calls = {
        "out": lambda: r.export("v1", "jsonl", ""),
        "source": lambda: r.snapshot(""),
        "config": lambda: r.snapshot(str(export), config="", message="x"),
        "users": lambda: r.snapshot(str(export), users="", message="x"),
        "images": lambda: r.export("v1", "jsonl", str(tmp_path / "x.jsonl"), images=""),
    }
    for keyword, call in calls.items():
        with pytest.raises(UsageError, match=rf"^{keyword}='': it is empty"):
            call()
    assert [v.message for v in r.log()] == ["one"]


def test_counts_and_timeouts_of_the_wrong_type_are_usage_errors(sentiment_repo):
    r = sentiment_repo
    with pytest.raises(UsageError, match=r"limit='3' is not a whole number"):
        r.log(limit="3")  # was: TypeError '<' not supported between int and str, from the log's heap
    with pytest.raises(UsageError, match=r"limit=-1 is not a whole number of at least 0"):
        r.log(limit=-1)  # was: [] in silence
    assert len(r.log(limit=1)) == 1 and r.log(limit=0) == []
    with pytest.raises(UsageError, match=r"n='2' is not a whole number"):
        r.sample("v1", strategy="random", n="2", record=False)
    for call in (lambda: r.status(timeout="5"), lambda: r.push(timeout=-1), lambda: r.pull(timeout=float("nan"))):
        with pytest.raises(UsageError, match=r"timeout=.* is not a number of seconds from 0.1 to 86400"):
            call()  # -1 was "the DVC remote did not answer within -1 s" (exit 10); "5" a TypeError from threading
    assert r.status(timeout=5).head == r.resolve("v1")


def test_paths_may_be_pathlib_paths(sentiment_repo, tmp_path):
    out = tmp_path / "v1.jsonl"
    res = annover.export("v1", "jsonl", out, repo=Path(sentiment_repo.root))
    assert res.rows == 4 and out.is_file()
    assert annover.load("v1", repo=Path(sentiment_repo.root)).equals(sentiment_repo.load("v1"))


def test_eval_and_suspects_take_the_clis_resolve_and_model(bbox_repo):
    """``annover eval --resolve`` and ``suspects --resolve --model M`` were ``policy=`` and
    ``models=[...]`` only; ``load`` and ``export`` call the rule ``resolve=``. The old names stay."""
    r = bbox_repo
    assert r.eval("v2", model="1", resolve="latest").policy == "latest"
    assert r.eval("v2", model="1", policy="latest").to_json() == r.eval("v2", model="1", resolve="latest").to_json()
    with pytest.raises(UsageError, match="policy= is its older name"):
        r.eval("v2", model="1", resolve="latest", policy="majority")
    got = r.suspects("v2", model="1", resolve="majority")
    assert got.options["policy"] == "majority"
    assert got.to_json() == r.suspects("v2", models=["1"], policy="majority").to_json()
    with pytest.raises(UsageError, match="both given"):
        r.suspects("v2", model="1", models=["model 0"])


def test_reprs_are_one_readable_line(sentiment_repo):
    r = sentiment_repo
    assert repr(r) == f"Repo({str(r.root)!r})"
    res = r.snapshot(str(LS / "sdk_history_sentiment.json"), config=str(LS / "sdk_history_sentiment.xml"),
                     message="two")
    text = repr(res)
    assert text.startswith(f"SnapshotResult(changed=True, tag='v2', version='{res.version.id[:12]}'")
    assert "record=" not in text and len(text) < 200, text  # was the whole version record, 2 KB
    again = repr(r.snapshot(str(LS / "sdk_history_sentiment.json"), message="same"))
    assert again == f"SnapshotResult(changed=False, tag=None, version=None, head='{res.version.id[:12]}')"
    assert "Repo(" in repr(annover.Repo.init(r.root))


def test_versions_diffs_and_reports_print_as_one_line(sentiment_repo, tmp_path):
    """A Version printed (``repo.log()`` in a cell) was its whole record, 2 KB each; a DiffResult
    and a ReportResult were ``<object at 0x...>``."""
    r = sentiment_repo
    r.snapshot(str(LS / "sdk_history_sentiment.json"), config=str(LS / "sdk_history_sentiment.xml"), message="two")
    head = r.log(limit=1)[0]
    text = repr(head)
    assert text.startswith(f"Version('{head.id[:12]}', message='two'") and len(text) < 200, text
    assert f"tasks={head.stats['tasks']}," in text
    d = r.diff("v1", "v2")
    assert repr(d).startswith("DiffResult('v1' -> 'v2', identical=False, tasks: ") and "0x" not in repr(d)
    rep = r.report("v2", out=str(tmp_path / "r.html"))
    assert repr(rep).startswith("ReportResult(path=") and f"bytes={rep.size}" in repr(rep)


def test_a_call_from_a_subfolder_finds_the_repository(sentiment_repo, monkeypatch):
    sub = sentiment_repo.root / "notebooks" / "eda"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert annover.Repo().root == sentiment_repo.root
    assert annover.load("v1").num_rows == 4
    assert git("status", "--porcelain", cwd=sentiment_repo.root) == ""


def test_the_error_classes_are_reachable_from_a_bare_import(sentiment_repo):
    """``annover.errors.RevisionError`` was an AttributeError until something imported
    annover.errors; ``import annover`` still loads none of it."""
    code = ("import sys, annover; assert 'annover.errors' not in sys.modules; "
            "cls = annover.errors.RevisionError\n"
            f"try:\n    annover.load('v9', repo={str(sentiment_repo.root)!r})\n"
            "except cls as e:\n    print(cls.exit_code, e)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("7 unknown revision 'v9' — ") and p.stdout.count("\n") == 1, p.stdout


def test_help_says_what_each_call_returns_with_an_example():
    """help(annover.diff) said only "see Repo.diff", and the loop's methods were typed ``Any``:
    a notebook's signature popup showed nothing of what comes back."""
    calls = {f"annover.{n}": getattr(annover, n) for n in ("init", "load", "snapshot", "diff", "export")}
    calls.update({f"Repo.{n}": getattr(annover.Repo, n) for n in ("agreement", "eval", "suspects", "sample", "snapshot",
                                                                "load", "log", "export", "push", "pull", "status")})
    for name, fn in calls.items():
        doc = inspect.getdoc(fn)
        assert "Returns" in doc, name
        assert re.search(r"^    \S.*\(", doc, re.M), f"{name}: no example"
    for name, result in (("agreement", "AgreementResult"), ("eval", "EvalResult"), ("suspects", "SuspectsResult"),
                         ("sample", "SampleResult"), ("report", "ReportResult")):
        assert result in str(inspect.signature(getattr(annover.Repo, name)).return_annotation), name


def test_a_folder_that_is_no_repository_is_said_so_as_the_cli_says(tmp_path):
    """``annover.load("v1", repo=FOLDER)`` of a folder in no git repository was a RevisionError
    (exit 7) from DVC's reader; ``annover show v1`` there is exit 6, "not an annover repository"."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(annover.errors.NotARepoError) as err:
        annover.load("v1", repo=folder)
    assert str(err.value) == f"not an annover repository (or any parent): {folder} — run `annover init` first"
    assert err.value.exit_code == 6


def test_diff_takes_a_range_as_the_cli_does(bbox_repo):
    """``annover diff v1..v2`` is the README's form; ``repo.diff("v1..v2")`` was "unknown revision"."""
    r = bbox_repo
    want = r.diff("v1", "v2").summary
    for got in (r.diff("v1..v2"), annover.diff("v1..", repo=r), annover.diff("v1..HEAD", repo=r.root)):
        assert got.summary["tasks"] == want["tasks"] and got.summary["b"]["id"] == want["b"]["id"]
    assert r.diff("v1..v2").summary["a"]["rev"] == "v1"
    with pytest.raises(UsageError, match="is a range and 'v2' a second version"):
        r.diff("v1..v2", "v2")
    # A...B diffs from the nearest common version, as git diff A...B: v1 itself on one line of history
    three = r.diff("v1...v2").summary
    assert three["a"]["id"] == want["a"]["id"] and three["tasks"] == want["tasks"]


def test_signatures_show_their_types_once_quoted():
    """help() and a notebook's popup showed ``tasks: "'Iterable[str] | None'"``: annotations
    written as strings under ``from __future__ import annotations`` are quoted twice."""
    public = [getattr(annover, n) for n in ("init", "load", "snapshot", "diff", "export")]
    public += [m for n, m in vars(annover.Repo).items() if callable(m) and not n.startswith("_")]
    for fn in public:
        assert '"' not in str(inspect.signature(fn)), fn.__name__


def test_snapshot_takes_the_clis_format(tmp_path):
    """``--format`` was ``fmt=`` only; ``load`` names it ``format=``: ``snapshot(..., format="conll")``
    was a TypeError."""
    r = annover.init(tmp_path / "ner")
    conll = shared_corpus("formats") / "conll_flair_fashion.conll"
    res = annover.snapshot(str(conll), format="conll", message="ner", repo=r)
    assert res.tag == "v1" and res.version.record["origin"]["format"] == "conll"
    assert not r.snapshot(str(conll), fmt="conll", message="again").changed
    with pytest.raises(UsageError, match="fmt= is its older name"):
        r.snapshot(str(conll), fmt="conll", format="coco")


def test_a_file_for_repo_and_a_number_for_a_tag_name_are_said_as_the_cli_says(sentiment_repo, tmp_path):
    """``load(repo=FILE)`` was DVC's RevisionError (exit 7) where ``diff(repo=FILE)`` said
    "not an annover repository" (exit 6); ``tag(3)`` was a TypeError from the refs' name check."""
    f = tmp_path / "labels.jsonl"
    f.write_text("{}\n")
    for call in (lambda: annover.load("v1", repo=f), lambda: annover.diff("v1", repo=f)):
        with pytest.raises(annover.errors.NotARepoError, match="not an annover repository"):
            call()
    for call in (lambda: sentiment_repo.tag(3), lambda: sentiment_repo.untag(None)):
        with pytest.raises(UsageError, match=r"is (int|NoneType), not text"):
            call()


def test_snapshot_options_of_the_wrong_type_are_usage_errors(sentiment_repo):
    """``snapshot(key=3)`` was "AttributeError: 'int' object has no attribute 'startswith'" from
    the Label Studio reader."""
    export = str(LS / "sdk_history_sentiment.json")
    for given in ({"key": 3}, {"tag": 2}, {"format": 1}):
        with pytest.raises(UsageError, match=rf"^{next(iter(given))}=\d is int, not text"):
            sentiment_repo.snapshot(export, message="x", **given)
    assert len(sentiment_repo.log()) == 1


def test_several_answers_in_python_name_the_keyword_as_well_as_the_option(sentiment_repo, tmp_path):
    """A training format of a task with two answers, called from Python: the hint named only the CLI's
    ``--resolve``; it also names ``resolve=``, as ``--force`` names ``force=True``."""
    with pytest.raises(UsageError) as e:
        sentiment_repo.export("HEAD", "hf", tmp_path / "out")
    assert "--resolve" in str(e.value) and "resolve= in Python" in str(e.value), e.value
    assert not (tmp_path / "out").exists()
