"""Real Label Studio exports in and out: snapshot with the config, export as Label Studio JSON,
snapshot the export again (nothing changed), and the export equal to the original.

The exports are read from ``../shared/corpus/label-studio`` (written by other people; see its
MANIFEST.md), never copied here. ``tests/data/ls`` holds small files of the kinds the corpus
lacks, shaped as Label Studio writes them. The provenance rules the comparison allows for are
in docs/inputs.md; for Label Studio JSON there are none left: the export equals the input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from annover.errors import InputError, ValidationError
from annover.formats.label_studio import to_tasks
from annover.formats.read import read_source
from annover.model import canonical as C
from annover.model.config import LabelingConfig

from .conftest import shared_corpus

CORPUS = shared_corpus("label-studio")
OWN = Path(__file__).resolve().parent / "data" / "ls"
#: --key per file where the MANIFEST's '-' cannot work: two tasks with the same data (item 4).
KEYS = {"ls_ground_truth_dup_ids.json": "id"}


def _files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".json", ".csv", ".tsv"))


corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not here ({CORPUS})")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """One repository for the module; its default DVC remote in the test's folders, not the home folder
    (a module's fixture is made before the autouse one that sets ``ANNOVER_REMOTE_HOME``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        return annover.init(tmp_path_factory.mktemp("corpus") / "repo")


def _written(doc) -> str:
    """JSON as written: 80 and 80.0 differ (Python's == says they are equal); key order does not matter."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def _tasks(path: Path) -> list:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, list) else [doc]


def _round_trip(repo, src: Path, tmp_path: Path) -> list:
    """Snapshot ``src``, export it, snapshot the export: nothing changed. The export's tasks."""
    cfg = str(src.with_suffix(".xml"))
    key = KEYS.get(src.name)
    first = repo.snapshot(str(src), config=cfg, key=key, message=src.name)
    out = tmp_path / (src.stem + ".export.json")
    repo.export("HEAD", "label-studio", out)
    again = repo.snapshot(str(out), config=cfg, key=key, message="again")
    assert again.version is None, f"{src.name}: the export of a snapshot reads as a change"
    assert first is not None
    return _tasks(out)


@corpus
@pytest.mark.parametrize("name", _files(CORPUS))
def test_corpus_export_round_trips(repo, tmp_path, name):
    src = CORPUS / name
    exported = _round_trip(repo, src, tmp_path)
    if src.suffix == ".json":
        assert _written(exported) == _written(_tasks(src))


@pytest.mark.parametrize("name", [n for n in _files(OWN) if not n.startswith("unlabeled")])
def test_own_fixtures_round_trip(repo, tmp_path, name):
    src = OWN / name
    assert _written(_round_trip(repo, src, tmp_path)) == _written(_tasks(src))


def _read(path: Path, **kw):
    return read_source(path, config=LabelingConfig.from_file(str(path.with_suffix(".xml"))), **kw)


def _ids(t) -> tuple[str, ...]:
    return tuple(C.content_id(getattr(t, n), n) for n in C.TABLES)


@corpus
def test_csv_reads_as_the_export_it_was_made_from():
    """The CSV the SDK wrote of a full export: the same tasks (same task table id)."""
    csv = _read(CORPUS / "derived_csv_sentiment.csv")
    full = _read(CORPUS / "fe_sentiment_two_annotators.json")
    assert _ids(csv)[0] == _ids(full)[0]
    assert csv.annotations.num_rows == full.annotations.num_rows
    assert sorted(csv.annotations.column("labels").to_pylist()) == sorted(full.annotations.column("labels").to_pylist())
    # quoted "1384719342" stays a string, [13,14] is a list
    data = json.loads(csv.tasks.column("data")[0].as_py())
    assert data["asin"] == "1384719342" and isinstance(data["helpful"], list)


@pytest.mark.parametrize("name", ["unlabeled.json", "unlabeled_min.json", "unlabeled.csv"])
def test_unlabeled_tasks_are_unlabeled_in_every_shape(name):
    """JSON-MIN and CSV write a record for a task without annotations: no answer comes of it."""
    t = _read(OWN / name, key="data.ext_id")
    anns = t.annotations.to_pylist()
    assert t.tasks.num_rows == 3
    assert sorted({a["task_key"] for a in anns}) == ["t1", "t2"]
    note = [a for a in anns if a["from_name"] == "note"]
    assert [json.loads(a["value"]) for a in note] == [{"text": ["fine"]}]
    assert {a["annotator"] for a in anns} == {"1"}


def test_same_tasks_by_task_id_in_every_shape():
    ids = {name: _ids(_read(OWN / name, key="id"))[0] for name in ("unlabeled.json", "unlabeled_min.json",
                                                                     "unlabeled.csv")}
    assert len(set(ids.values())) == 1, ids


def test_key_id_is_refused_where_a_task_has_no_id(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps([{"data": {"text": "a"}, "annotations": []}]))
    with pytest.raises(InputError, match=r"t.json: task 0: task has no 'id' \(--key id"):
        _read_with(p, OWN / "unlabeled.xml", key="id")


def _read_with(path: Path, cfg: Path, **kw):
    return read_source(path, config=LabelingConfig.from_file(str(cfg)), **kw)


def test_duplicate_tasks_hint_names_key_id(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps([{"id": i, "data": {"text": "same"}, "annotations": []} for i in (1, 2)]))
    with pytest.raises(InputError) as e:
        _read_with(p, OWN / "unlabeled.xml")
    assert "--key id" in e.value.hint
    assert _read_with(p, OWN / "unlabeled.xml", key="id").tasks.column("task_key").to_pylist() == ["1", "2"]


def test_embedded_prediction_is_kept_once_with_its_lineage():
    t = _read(OWN / "ocr.json")
    preds = t.predictions.to_pylist()
    assert {p["ls_prediction_id"] for p in preds} == {31} and {p["model_version"] for p in preds} == {"ocr-v1"}
    assert len(preds) == 2  # the box and its transcription, once
    assert {a["ls_parent_prediction_id"] for a in t.annotations.to_pylist()} == {31}
    assert not any("ids only" in w for w in t.warnings)


def test_stale_controls_kept_with_counts_and_refused_when_strict():
    t = _read(OWN / "stale.json")
    assert [w for w in t.warnings if "2 × control 'old_topic'" in w and "prediction 0 (id 5), result 1" in w]
    assert "old_topic" in t.predictions.column("from_name").to_pylist()
    with pytest.raises(ValidationError, match=r"2 × control 'old_topic'.*annotation 0 \(id 1\), result 1 \(id c2\)"):
        _read(OWN / "stale.json", validate="strict")
    assert _read(OWN / "stale.json", validate=False).warnings == []


def test_a_wrong_label_is_refused_with_counts_or_kept_with_warn(tmp_path):
    tasks = _tasks(OWN / "stale.json")
    for ti in range(3):
        t = json.loads(json.dumps(tasks[0]))
        t["id"], t["data"]["text"] = ti + 1, f"t{ti}"
        t["annotations"][0]["result"][0]["value"]["choices"] = ["furious"]
        tasks.append(t) if ti else tasks.__setitem__(0, t)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(tasks))
    cfg = OWN / "stale.xml"
    with pytest.raises(ValidationError) as e:
        _read_with(p, cfg)
    msg = str(e.value)
    assert "3 × label 'furious' is not in control 'sentiment'" in msg
    assert "bad.json: task 0 (key " in msg and "annotation 0 (id 1), result 0 (id c1), field value" in msg
    assert "old_topic" not in msg  # stale controls are not errors by default
    t = _read_with(p, cfg, validate="warn")
    assert any("3 × label 'furious'" in w for w in t.warnings)


def test_users_map_numeric_annotators_to_emails():
    t = _read(OWN / "unlabeled.json", users={1: "ann@example.com"})
    assert set(t.annotations.column("annotator").to_pylist()) == {"ann@example.com"}
    t = _read(OWN / "unlabeled.json", users={2: "bo@example.com"})
    assert any("annotators 1 are numeric" in w for w in t.warnings)


def test_numbers_come_back_as_written_and_ids_stay(tmp_path):
    """80.0 is hashed as 80 (ids do not move) and written back as 80.0."""
    a = _read(OWN / "video.json")
    raw = json.loads(json.dumps(_tasks(OWN / "video.json")).replace("4.0", "4").replace("10.0", "10"))
    assert _written(raw) != _written(_tasks(OWN / "video.json"))
    p = tmp_path / "video.json"
    p.write_text(json.dumps(raw))
    assert _ids(a) == _ids(_read_with(p, OWN / "video.xml"))


def test_predictions_alone_are_written_in_full():
    """Without the annotations that embed it, a prediction given by id is written whole (dataset push)."""
    t = _read(OWN / "ocr.json")
    stub = [{"task_key": k, "data": "{}", "extra": None, "ls_task_id": None}
            for k in t.tasks.column("task_key").to_pylist()]  # as dataset push reads a version's predictions
    alone = to_tasks(stub, [], t.predictions.to_pylist())
    assert [p["id"] for p in alone[0]["predictions"]] == [31]
    assert len(alone[0]["predictions"][0]["result"]) == 2
