"""Which predictions a Label Studio task holds: those in its ``predictions`` list, then those an
export gives in full only inside ``annotations[].prediction`` (each once, by id), leaving out
those the task's list no longer names (deleted since). Two paths read them:

- snapshot (``--from`` an export): strict; a malformed record is one line, exit 3, nothing written;
- ``dataset push --from`` / ``--predictions FILE`` (and ``snapshot --predictions FILE``): lenient;
  what cannot be a prediction is skipped and counted ("given as ids only were left out").

Real exports of the shared corpus show the shapes Label Studio writes; small hand-made records
show the malformed ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from annover.errors import AnnoverError, InputError
from annover.formats.label_studio import from_ls_tasks, to_tasks
from annover.formats.predictions import read_predictions
from annover.formats.records import task_items

from .conftest import shared_corpus
from .ls_fixtures import TEXT_CONFIG, choice, cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_labelstudio import server_tasks

CORPUS = shared_corpus("label-studio")
NERINE = CORPUS / "ner_predictions_nerine.json"  # task.predictions [11], the prediction only in its annotation
BBOX = CORPUS / "sdk_bbox_reviews_predictions.json"  # the same prediction in the list and in the annotation
LLM = CORPUS / "llm_answer_textarea_preds.json"  # task.predictions [155], the annotation's prediction {}
corpus = pytest.mark.skipif(not NERINE.is_file(), reason=f"the shared corpus is not here ({CORPUS})")
_NO = object()


def pred(pid, label: str = "pos", **kw) -> dict:
    return {"id": pid, "model_version": "m", "score": 0.5, "result": choice(label), **kw}


def task(key: str, predictions=_NO, *carried) -> dict:
    """A task keyed ``data.id``; one annotation per prediction in ``carried`` (as an export has it)."""
    t: dict = {"data": {"id": key, "text": f"review {key}"},
               "annotations": [{"result": choice("neg"), "prediction": p} for p in carried]}
    if predictions is not _NO:
        t["predictions"] = predictions
    return t


def _lenient(tasks: list) -> tuple[list[list[dict]], list[str]]:
    """What ``dataset push --from`` sends of each task's predictions, and what it says."""
    got = task_items(tasks, "t.json", send_annotations=True)
    return [it.get("predictions", []) for it in got.items], got.warnings("t.json")


def _as_file(tmp_path: Path, tasks: list) -> Path:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(tasks))
    return f


def _strict(tasks: list, key: str | None = "data.id"):
    """The snapshot's predictions of ``tasks`` (config-free) and its warnings."""
    t = from_ls_tasks(tasks, "t.json", key=key, validate=False)
    return t.predictions.to_pylist(), t.warnings


@pytest.fixture()
def snap_repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    annover.init(root)
    (root / "labeling.xml").write_text(TEXT_CONFIG)
    monkeypatch.chdir(root)
    return root


def _versions(root: Path) -> list[str]:
    return sorted(p.name for p in (root / ".annover" / "versions").glob("*.json"))


# ---------------------------------------------------------------------------
# real exports: the shapes Label Studio writes


@corpus
def test_a_prediction_only_inside_its_annotation_is_read_once_by_both_paths():
    tasks = json.loads(NERINE.read_text())
    rows, warnings = _strict(tasks, None)
    assert not [w for w in warnings if "ids only" in w]
    assert {json.loads(r["ls_original"] or "{}").get("a", {}).get("as") for r in rows} - {None} == {"id"}
    assert len(rows) == sum(len(t["annotations"][0]["prediction"]["result"]) for t in tasks)
    sent, said = _lenient(tasks)
    assert [len(s) for s in sent] == [1] * 5 and not [w for w in said if "ids only" in w]
    assert [s[0]["result"] for s in sent] == [t["annotations"][0]["prediction"]["result"] for t in tasks]
    assert sorted(len(v) for v in read_predictions(NERINE).values()) == [1] * 5
    # written back as the export had it: the list of ids, the prediction inside the annotation
    t = from_ls_tasks(tasks, "n", validate=False)
    back = to_tasks(t.tasks.to_pylist(), t.annotations.to_pylist(), t.predictions.to_pylist())
    assert [t["predictions"] for t in back] == [t["predictions"] for t in tasks]


@corpus
def test_the_same_prediction_in_the_list_and_in_its_annotation_is_read_once():
    tasks = json.loads(BBOX.read_text())
    rows, _ = _strict(tasks, None)
    per_task = {(r["task_key"], r["prediction_key"]) for r in rows}
    assert len(per_task) == len(tasks) == 2
    assert len(rows) == sum(len(t["predictions"][0]["result"]) for t in tasks)
    sent, said = _lenient(tasks)
    assert [len(s) for s in sent] == [1, 1] and not [w for w in said if "ids only" in w]
    assert all("id" not in s[0] for s in sent)  # Label Studio sets it
    assert sorted(len(v) for v in read_predictions(BBOX).values()) == [1, 1]


@corpus
def test_ids_naming_no_prediction_in_full_are_counted_by_both_paths():
    tasks = json.loads(LLM.read_text())  # annotations[].prediction is {} here
    rows, warnings = _strict(tasks, None)
    assert rows == []
    assert any("4 predictions are given as ids only (a plain export) and nowhere in full; they are kept as ids" in w
               for w in warnings), warnings
    sent, said = _lenient(tasks)
    assert sent == [[]] * 4 and "t.json: 4 prediction(s) given as ids only were left out" in said
    # --predictions of it: nothing to read, said in one line (it read no prediction and said nothing)
    with pytest.raises(InputError, match=r"its 4 prediction\(s\) are ids only .* annover dataset export"):
        read_predictions(LLM)


@corpus
def test_snapshot_of_the_real_exports_through_the_cli(snap_repo):
    for f, n_tasks in ((NERINE, 5), (BBOX, 2), (LLM, 4)):
        code, out, err = cli("snapshot", "--from", str(f), "--config", str(f.with_suffix(".xml")),
                             "--validate", "off", "-m", f.stem, "--json")
        assert code == 0, err
        assert annover.load("HEAD", table="tasks").num_rows == n_tasks
    assert annover.load("HEAD", table="predictions").num_rows == 0  # LLM: ids only
    assert "4 predictions are given as ids only" in err


# ---------------------------------------------------------------------------
# edge records both paths take, and agree on


EDGES = {
    # name: (task, prediction ids the snapshot reads, prediction ids push sends, ids-only count)
    "ids only": (task("a", [1, 2]), [], [], 2),
    "only inside an annotation": (task("a", [1], pred(1)), [1], [1], 0),
    "in both places": (task("a", [pred(1)], pred(1)), [1], [1], 0),
    "deleted, the list empty": (task("a", [], pred(9)), [], [], 0),
    "deleted, the list names another": (task("a", [1], pred(9)), [], [], 1),
    "no list: the annotation's is all there is": (task("a", _NO, pred(7), pred(7)), [7], [7], 0),
    "null list": (task("a", None, pred(7)), [7], [7], 0),
    "two listed, one given, one carried": (task("a", [pred(1), 2], pred(2, model_version="m2"), pred(1)),
                                           [1, 2], [1, 2], 0),
    "a carried prediction with no result list": (task("a", [1], {"id": 1, "model_version": "m"}), [], [], 1),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_records_read_alike(name):
    rec, strict_ids, lenient_ids, ids_only = EDGES[name]
    rows, warnings = _strict([rec])
    assert sorted({r["ls_prediction_id"] for r in rows}) == strict_ids
    assert any(f"{ids_only} predictions are given as ids only" in w for w in warnings) == bool(ids_only)
    sent, said = _lenient([rec])
    # push leaves Label Studio's ids out: the results (one label each) tell the predictions apart
    assert len(sent[0]) == len(lenient_ids)
    assert (f"t.json: {ids_only} prediction(s) given as ids only were left out" in said) == bool(ids_only)


def test_the_place_of_each_prediction_is_kept_for_the_writer():
    rec = task("a", [pred(1), 2], pred(2, model_version="m2"), pred(1))
    t = from_ls_tasks([rec], "t.json", key="data.id", validate=False)
    rows = t.predictions.to_pylist()
    # the listed one first; the one only carried is marked "given by id" for the writer
    assert [(r["ls_prediction_id"], r["ls_original"]) for r in rows] == [(1, None), (2, '{"a":{"as":"id"}}')]
    back = to_tasks(t.tasks.to_pylist(), t.annotations.to_pylist(), rows)
    assert [a["prediction"] for a in back[0]["annotations"]] == [pred(2, model_version="m2"), pred(1)]
    # a list mixing objects and ids is written with every prediction in full (the writer's way)
    assert back[0]["predictions"] == [pred(1), pred(2, model_version="m2")]


# ---------------------------------------------------------------------------
# malformed records: snapshot refuses (one line, exit 3, nothing written); push skips or refuses


MALFORMED = {
    # name: (predictions, the snapshot's error after "task 0 (key a)", push: sent, left-out count | error)
    "an object": ({"a": 1}, ".predictions: is dict {'a': 1}, expected a list", r"record 0\.predictions: is dict"),
    "text": ("x", ".predictions: is str 'x', expected a list", r"record 0\.predictions: is str 'x', expected a list"),
    "an empty object": ({}, ".predictions: is dict {}, expected a list", 0),
    "empty text": ("", ".predictions: is str '', expected a list", 0),
    "false": (False, ".predictions: is bool False, expected a list", 0),
    "a text entry": (["abc"], ", prediction 0: is not an object", 1),
    "a null entry": ([None], ", prediction 0: is not an object", 1),
    "a list entry": ([[1]], ", prediction 0: is not an object", 1),
    "a fraction entry": ([1.5], ", prediction 0: is not an object", 1),
    "a bool id": ([True], ", prediction 0: is not an object", 1),
    "a bool id beside a prediction": ([True, pred(2)], ", prediction 0: is not an object", 1),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_snapshot_refuses_a_malformed_predictions_field(name, snap_repo):
    preds, message, _ = MALFORMED[name]
    f = _as_file(snap_repo.parent, [task("a", preds)])
    code, out, err = cli("snapshot", "--from", str(f), "--config", "labeling.xml", "--key", "data.id", "-m", name)
    assert code == 3, err
    assert err.startswith(f"Error: {f}: task 0 (key a){message}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert _versions(snap_repo) == []


@pytest.mark.parametrize("name", list(MALFORMED))
def test_push_skips_or_refuses_a_malformed_predictions_field(name):
    preds, _, lenient = MALFORMED[name]
    rec = task("a", preds)
    if isinstance(lenient, str):
        with pytest.raises(AnnoverError, match=lenient) as e:
            _lenient([rec])
        assert e.value.exit_code == 3 and "t.json: record 0" in str(e.value)
        return
    sent, said = _lenient([rec])
    kept = [p for p in preds if isinstance(p, dict)] if isinstance(preds, list) else []
    assert len(sent[0]) == len(kept)
    assert (f"t.json: {lenient} prediction(s) given as ids only were left out" in said) == bool(lenient), said


def test_a_carried_prediction_with_a_bool_id_is_refused_by_snapshot_sent_by_push(snap_repo):
    rec = task("a", _NO, pred(True))
    f = _as_file(snap_repo.parent, [rec])
    code, _, err = cli("snapshot", "--from", str(f), "--config", "labeling.xml", "--key", "data.id", "-m", "b")
    assert code == 3 and "its prediction (id True), field id: is bool True, expected an integer id" in err, err
    assert len(err.strip().splitlines()) == 1 and _versions(snap_repo) == []
    sent, _ = _lenient([rec])
    assert len(sent[0]) == 1 and "id" not in sent[0][0]


def test_push_refuses_annotations_that_are_no_list_only_when_it_sends_them():
    rec = {"data": {"id": "a"}, "predictions": [pred(1)], "annotations": {"x": 1}}
    got = task_items([rec], "t.json", send_annotations=False)
    assert len(got.items[0]["predictions"]) == 1
    with pytest.raises(AnnoverError, match="'annotations' is not a list of objects"):
        task_items([rec], "t.json", send_annotations=True)


# ---------------------------------------------------------------------------
# --predictions FILE of Label Studio tasks (push and snapshot): the same rule, lenient


# a record without a predictions list is one prediction record, not a task: those are not asked here
@pytest.mark.parametrize("name", [n for n, e in EDGES.items() if isinstance(e[0].get("predictions"), list)])
def test_a_predictions_file_of_tasks_reads_the_edge_records_alike(name, tmp_path):
    rec, _, lenient_ids, ids_only = EDGES[name]
    if ids_only and not lenient_ids:  # a file whose predictions are all ids: nothing to read, said
        with pytest.raises(InputError, match=rf"its {ids_only} prediction\(s\) are ids only"):
            read_predictions(_as_file(tmp_path, [rec]), key="data.id")
        return
    got = read_predictions(_as_file(tmp_path, [rec]), key="data.id")
    assert len(got.get("a", [])) == len(lenient_ids)


@pytest.mark.parametrize("name", [n for n, (p, _, lenient) in MALFORMED.items() if isinstance(p, list)])
def test_a_predictions_file_skips_malformed_entries(name, tmp_path):
    preds = MALFORMED[name][0]
    got = read_predictions(_as_file(tmp_path, [task("a", preds)]), key="data.id")
    assert len(got.get("a", [])) == len([p for p in preds if isinstance(p, dict)])


def test_a_predictions_file_task_with_no_list_is_read_as_one_prediction_record(tmp_path):
    with pytest.raises(AnnoverError, match=r"record 0 \(key a\): no result list") as e:
        read_predictions(_as_file(tmp_path, [task("a", {"a": 1})]), key="data.id")
    assert e.value.exit_code == 3


# ---------------------------------------------------------------------------
# the real push, against the real server


def _keyed(name: str) -> dict:
    rec = json.loads(json.dumps(EDGES[name][0]))
    rec["data"] = {"id": name, "text": f"review {name}"}
    return rec


@pytest.mark.labelstudio
def test_push_sends_what_the_rule_reads(project_factory, sdk_admin, tmp_path):
    """``dataset push --from`` an export and ``--predictions`` the same export: Label Studio ends
    with the predictions the rule reads, and the ids left out are said (for --from)."""
    names = list(EDGES)
    f = tmp_path / "tasks.json"
    f.write_text(json.dumps([_keyed(n) for n in names]))
    p = project_factory("rule-from")
    code, out, err = cli("dataset", "push", str(p.id), "--from", str(f), "--key", "data.id", "--json")
    assert code == 0, err
    assert f"{f}: 4 prediction(s) given as ids only were left out" in json.loads(out)["warnings"]
    have = {t["data"]["id"]: len(t["predictions"]) for t in server_tasks(sdk_admin, p.id)}
    assert have == {n: len(EDGES[n][2]) for n in names}
    q = project_factory("rule-predictions")
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"id": n, "text": f"review {n}"}) + "\n" for n in names))
    listed = tmp_path / "listed.json"  # records with no predictions list are prediction records, not tasks
    listed.write_text(json.dumps([_keyed(n) for n in names if isinstance(EDGES[n][0].get("predictions"), list)]))
    code, out, err = cli("dataset", "push", str(q.id), "--from", str(plain), "--key", "data.id",
                         "--predictions", str(listed), "--json")
    assert code == 0, err
    have = {t["data"]["id"]: len(t["predictions"]) for t in server_tasks(sdk_admin, q.id)}
    assert have == {n: len(EDGES[n][2]) if isinstance(EDGES[n][0].get("predictions"), list) else 0 for n in names}


# ---------------------------------------------------------------------------
# where the two copies of the rule disagreed (each test failed before they were made one)


def test_push_takes_no_bool_for_prediction_id_1(tmp_path):
    """``predictions: [true]`` named prediction 1 for push (True == 1 in a Python set): it sent the
    prediction an annotation still carried though the task's list no longer names it, where a
    snapshot refuses the entry; now push skips the entry and counts it, as it does other junk."""
    rec = task("a", [True], pred(1))
    sent, said = _lenient([rec])
    assert sent == [[]]
    assert "t.json: 1 prediction(s) given as ids only were left out" in said
    got = read_predictions(_as_file(tmp_path, [rec]), key="data.id")
    assert got == {"a": []}


def test_a_prediction_with_no_id_carried_by_two_annotations_is_read_once(snap_repo):
    """Push and --predictions read a prediction with no id once per annotation carrying it (the
    snapshot of the same export: once): ``snapshot --predictions`` of the export stored it twice."""
    rec = task("a", [], pred(None), pred(None))
    sent, _ = _lenient([rec])
    assert len(sent[0]) == 1
    f = _as_file(snap_repo.parent, [rec])
    code, _, err = cli("snapshot", "--from", str(f), "--config", "labeling.xml", "--key", "data.id", "-m", "from")
    assert code == 0, err
    from_export = annover.load("HEAD", table="predictions").num_rows
    plain = snap_repo.parent / "plain.json"
    plain.write_text(json.dumps([{"data": rec["data"]}]))
    code, _, err = cli("snapshot", "--from", str(plain), "--predictions", str(f), "-m", "predictions")
    assert code == 0, err
    assert annover.load("HEAD", table="predictions").num_rows == from_export == 1


@pytest.mark.parametrize("listed", [[7], []])
def test_a_carried_prediction_with_a_text_id_is_not_lost_by_push(listed, tmp_path):
    """A carried prediction whose id is text is no Label Studio id: the snapshot keeps it (as one
    with no id); push and --predictions dropped it as deleted, and called it "given as ids only"."""
    rec = task("a", listed, pred("7"))
    rows, _ = _strict([rec])
    assert len({r["prediction_key"] for r in rows}) == 1
    sent, _ = _lenient([rec])
    assert [p["result"] for p in sent[0]] == [choice("pos")]
    assert len(read_predictions(_as_file(tmp_path, [rec]), key="data.id")["a"]) == 1



@pytest.mark.parametrize("pid", [None, "1"])
def test_the_same_prediction_with_no_integer_id_in_both_places_is_read_once(pid, tmp_path):
    """Given in the task's list and again inside its annotation, a prediction with no id was read
    twice by the snapshot (and by push where it had no id at all): the second is the same one,
    told by its content as an id-less carried prediction is."""
    rec = task("a", [pred(pid)], pred(pid))
    rows, _ = _strict([rec])
    assert len({r["prediction_key"] for r in rows}) == 1
    sent, _ = _lenient([rec])
    assert len(sent[0]) == 1
    assert len(read_predictions(_as_file(tmp_path, [rec]), key="data.id")["a"]) == 1


def test_the_config_check_reads_the_predictions_the_snapshot_keeps(snap_repo):
    """The check against the labeling config had a third copy of the rule: it checked a deleted
    prediction an annotation still carries (not kept as a row) and refused the snapshot, exit 4,
    for a label only that deleted prediction used; it counted a carried prediction with no id
    once per annotation carrying it."""
    f = _as_file(snap_repo.parent, [task("a", [], pred(9, label="gone"))])
    code, _, err = cli("snapshot", "--from", str(f), "--config", "labeling.xml", "--key", "data.id", "-m", "d")
    assert code == 0, err
    assert annover.load("HEAD", table="predictions").num_rows == 0
    f = _as_file(snap_repo.parent, [task("b", [], pred(None, label="gone"), pred(None, label="gone"))])
    code, _, err = cli("snapshot", "--from", str(f), "--validate", "warn", "-m", "w")
    assert code == 0, err
    assert "1 × label 'gone' is not in control 'sentiment'" in err, err


@corpus
def test_snapshot_predictions_of_ids_only_is_exit_3_and_writes_nothing(snap_repo):
    """`snapshot --predictions` of a plain export (predictions as ids only) read nothing and said
    nothing: the version was made without the predictions asked for."""
    code, out, err = cli("snapshot", "--from", str(NERINE), "--config", str(NERINE.with_suffix(".xml")),
                         "--predictions", str(LLM), "--validate", "off", "-m", "x")
    assert (code, out) == (3, "")
    assert f"--predictions {LLM}: its 4 prediction(s) are ids only" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("log")
    assert code == 7 or "no versions" in err  # nothing was recorded


@corpus
def test_snapshot_predictions_partly_ids_only_keeps_the_full_ones_and_warns(snap_repo, tmp_path):
    """A --predictions file where one task's prediction is in full and another's is an id only: the
    full one is read and the left-out id is said (it was left out silently)."""
    tasks = json.loads(NERINE.read_text())
    mixed = [dict(tasks[0]), dict(tasks[1])]
    full = next(a["prediction"] for t in tasks for a in t["annotations"] if isinstance(a.get("prediction"), dict)
                and a["prediction"].get("result"))
    mixed[0] = {**mixed[0], "predictions": [{**full, "id": 555555, "model_version": "another-model"}],
                "annotations": []}  # another model's: the data file gives the LLM's already
    mixed[1] = {**mixed[1], "predictions": [987654], "annotations": []}
    f = tmp_path / "mixed.json"
    f.write_text(json.dumps(mixed))
    code, out, err = cli("snapshot", "--from", str(NERINE), "--config", str(NERINE.with_suffix(".xml")),
                         "--predictions", str(f), "--validate", "off", "--key", "id", "-m", "x")
    assert code == 0, err
    assert f"--predictions {f}: 1 prediction(s) given as ids only (nowhere in full) were left out" in err
    assert annover.load("HEAD", table="predictions").num_rows > 0
