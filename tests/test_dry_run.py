"""``annover snapshot --dry-run``: what a snapshot would record, with nothing written.

The oracle is the snapshot itself, made right after: the dry run must say whether it makes
a version, the tag it gets, and the diff ``annover diff HEAD~1 HEAD`` then gives; and the
repository (git, its files, the DVC cache) must be byte for byte as before the dry run.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import AnnoverError
from tests.test_diff_cli import cli
from tests.test_labelstudio import server_tasks

from .ls_fixtures import annotator2, choice, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures


#: what any read writes: annover's note that git's index agrees with HEAD (a cache; README)
READ_CACHE = ".git/annover-index-agrees"


def _tree(root: Path) -> dict[str, bytes]:
    """Every file of the repository (git's own included, but the read cache), by path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE}


def _same_as_snapshot(repo, dry, **kw):
    """The snapshot the dry run described, made now: the same outcome, tag and diff."""
    before = repo.head()
    real = repo.snapshot(**kw)
    assert real.changed == dry.changed
    if not real.changed:
        assert dry.tag is None and dry.diff.identical
        return real
    assert real.tag == dry.tag
    made = repo.diff(before, real.version.id) if before else None
    if made is not None:
        assert dry.diff.rows_json(None) == made.rows_json(None)
        strip = lambda s: {k: v for k, v in s.items() if k not in ("a", "b", "parts", "warnings")}  # noqa: E731
        assert strip(dry.diff.summary) == strip(made.summary)
    return real


def test_dry_run_of_round_two_is_the_diff_the_snapshot_makes(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    round3 = json.loads(Path("round2.json").read_text())
    round3[0]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]
    Path(tmp_path / "round3.json").write_text(json.dumps(round3))
    before = _tree(repo.root)
    dry = repo.snapshot(str(tmp_path / "round3.json"), message="round 3", dry_run=True)
    assert _tree(repo.root) == before  # nothing written: no object, no commit, no tag, no lock left
    assert dry.dry_run and dry.changed and dry.tag == "v3" and dry.version is None and dry.head == v2.id
    assert dry.diff.summary["annotations"]["changed"] == 1
    assert dry.diff.summary["a"]["rev"] == "v2"
    _same_as_snapshot(repo, dry, source=str(tmp_path / "round3.json"), message="round 3")


def test_dry_run_of_unchanged_input_says_no_version(two_rounds):
    repo, v1, v2 = two_rounds
    dry = repo.snapshot("round2.json", dry_run=True)
    assert not dry.changed and dry.tag is None and dry.diff.identical
    _same_as_snapshot(repo, dry, source="round2.json")


def test_dry_run_in_an_empty_repository(repo):
    before = _tree(repo.root)
    dry = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", dry_run=True)
    assert _tree(repo.root) == before
    assert dry.changed and dry.tag == "v1" and dry.head is None
    assert dry.diff.summary["tasks"]["before"] == 0 and dry.diff.summary["tasks"]["added"] == dry.diff.summary[
        "tasks"]["after"] > 0
    code, out, err = cli("snapshot", "--from", "round1.json", "--config", "labeling.xml", "-n")
    assert code == 0 and out.splitlines()[0] == "diff (nothing) -> round1.json", out  # not "diff None -> ..."
    assert _tree(repo.root) == before
    real = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id")
    assert real.tag == "v1" and real.version.stats["tasks"] == dry.diff.summary["tasks"]["after"]


def test_dry_run_refuses_bad_input_as_the_snapshot_does(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    bad = tmp_path / "bad.json"
    bad.write_text('[{"data": {"ext_id": "x", "text": "x"}, "annotations": [{"result": [{"from_name": "nope", '
                   '"to_name": "text", "type": "choices", "value": {"choices": ["positive"]}}]}]}]')
    before = _tree(repo.root)
    with pytest.raises(AnnoverError) as dry_err:
        repo.snapshot(str(bad), dry_run=True, validate="strict")
    with pytest.raises(AnnoverError) as real_err:
        repo.snapshot(str(bad), validate="strict")
    assert type(dry_err.value) is type(real_err.value) and str(dry_err.value) == str(real_err.value)
    assert "nope" in str(dry_err.value)
    assert _tree(repo.root) == before
    code, _, err = cli("snapshot", "--from", str(bad), "--dry-run", "--validate", "strict")
    assert code == real_err.value.exit_code and err.count("\n") == 1 and "Traceback" not in err


def test_dry_run_on_a_detached_head_is_refused_as_the_snapshot_is(two_rounds):
    """The dry run says what the snapshot would do; on a detached git HEAD the snapshot (and
    merge --dry-run, reset --dry-run) stop at exit 6: not 'would record v3 on v1'."""
    repo, _, _ = two_rounds
    subprocess.run(["git", "switch", "-q", "--detach", "v1"], check=True)
    before = _tree(repo.root)
    with pytest.raises(AnnoverError) as dry_err:
        annover.Repo(repo.root).snapshot("round2.json", dry_run=True)
    with pytest.raises(AnnoverError) as real_err:
        annover.Repo(repo.root).snapshot("round2.json")
    assert str(dry_err.value) == str(real_err.value) and "detached" in str(dry_err.value)
    code, out, err = cli("snapshot", "--from", "round2.json", "-n")
    assert (code, out) == (6, "") and err.count("\n") == 1 and "would record" not in err
    assert _tree(repo.root) == before


def test_cli_dry_run_text_and_json(two_rounds):
    repo, v1, v2 = two_rounds
    before = _tree(repo.root)
    code, out, err = cli("snapshot", "--from", "round1.json", "--dry-run")
    assert code == 0, err
    assert out.startswith("diff v2 (") and "Annotations:" in out
    assert "dry run: would record v3 on v2; nothing written" in err
    code, out, err = cli("snapshot", "--from", "round1.json", "-n", "--json")
    doc = json.loads(out)
    assert (doc["dry_run"], doc["changed"], doc["tag"], doc["version"]) == (True, True, "v3", None)
    assert doc["diff"]["annotations"] == repo.diff("v2", "v1").summary["annotations"]
    code, out, err = cli("snapshot", "--from", "round2.json", "--dry-run", "-q")
    assert (code, out) == (0, "") and "dry run" not in err
    code, out, err = cli("snapshot", "--from", "round2.json", "--dry-run")
    assert "no differences" in out and "nothing changed since HEAD" in err
    assert _tree(repo.root) == before
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout
    assert sorted(status.splitlines()) == ["?? labeling.xml", "?? round1.json", "?? round2.json"]  # the inputs only


def _rounds(seed: int, n: int = 30) -> list[dict]:
    rng = random.Random(seed)
    state = {f"t{i:03d}": rng.choice(["a", "b", "c"]) for i in range(n)}
    out = [dict(state)]
    for _ in range(3):
        for k in rng.sample(sorted(state), rng.randint(0, 3)):
            state[k] = rng.choice(["a", "b", "c"])
        for k in rng.sample(sorted(state), rng.randint(0, 1)):
            del state[k]
        for _ in range(rng.randint(0, 2)):
            state[f"t{rng.randrange(100):03d}"] = rng.choice(["a", "b", "c"])
        out.append(dict(state))
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
def test_dry_run_predicts_every_snapshot_of_random_rounds(tmp_path_factory, seed):
    """Random rounds (relabels, removals, additions, repeats): before each snapshot, the dry run
    says what it then does, and writes nothing."""
    root = tmp_path_factory.mktemp("dry")
    repo = annover.init(root / "repo")
    cfg = root / "labeling.xml"
    cfg.write_text('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
                   '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>')
    for i, state in enumerate(_rounds(seed) + [_rounds(seed)[-1]]):
        path = root / f"r{i}.parquet"
        pq.write_table(pa.table({"task_key": list(state), "label": list(state.values())}), path)
        kw = {"source": str(path), "config": str(cfg)}
        before = _tree(repo.root)
        dry = repo.snapshot(dry_run=True, **kw)
        assert _tree(repo.root) == before
        _same_as_snapshot(repo, dry, **kw)


@pytest.mark.labelstudio
def test_dry_run_of_a_label_studio_project(ls, project_factory, sdk_admin, repo, tmp_path):  # noqa: F811
    from annover.labelstudio import tasks

    p = project_factory("dry-run")
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in range(1, 5)))
    tasks.push(ls, p.id, str(src), key="data.id")
    ids = {t["data"]["id"]: t["id"] for t in server_tasks(sdk_admin, p.id)}
    sdk_admin.annotations.create(id=ids["r1"], result=choice("pos"))
    repo.snapshot(label_studio=p.id, client=ls, key="data.id", message="v1")
    sdk_admin.annotations.create(id=ids["r2"], result=choice("neg"))
    before = _tree(repo.root)
    dry = repo.snapshot(label_studio=p.id, client=ls, dry_run=True)
    assert _tree(repo.root) == before
    assert dry.changed and dry.tag == "v2" and dry.diff.summary["annotations"]["added"] == 1
    assert dry.diff.summary["b"]["rev"] == f"Label Studio {p.id}"
    _same_as_snapshot(repo, dry, label_studio=p.id, client=ls, message="v2")
    assert not repo.snapshot(label_studio=p.id, client=ls, dry_run=True).changed


def _tasks_json(state: dict, preds: dict[str, dict]) -> list[dict]:
    """Label Studio tasks: one answer per task (its label), and the predictions of each model version."""
    def choice(label: str) -> list[dict]:
        return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
    return [{"data": {"ext_id": k, "text": f"text of {k}"},
             "annotations": [{"id": 1, "completed_by": {"email": "a@x"}, "result": choice(v)}],
             "predictions": [{"model_version": mv, "score": 0.5, "result": choice(p[k])}
                             for mv, p in sorted(preds.items()) if k in p]}
            for k, v in state.items()]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), deltas=st.booleans())
def test_dry_run_of_tasks_with_predictions_reads_only_what_differs(tmp_path_factory, monkeypatch, seed, deltas):
    """HEAD as deltas or whole, model versions kept, added and dropped between rounds: the dry
    run compares only the tasks whose stored hashes differ, and says what the snapshot's diff
    then says (counts, relabels, agreement of each model version with the answers)."""
    import annover.repo.dry_run as dry_run
    import annover.store.snapshots as S

    monkeypatch.setattr(S, "MIN_BASE_BYTES", 0 if deltas else 1 << 60)
    monkeypatch.setattr(S, "MAX_DELTA_FRACTION", 1.0)
    compared: list[int] = []
    real = dry_run.diffing.diff_tables  # (the module, loaded: patched where the dry run looks it up)
    monkeypatch.setattr(dry_run.diffing, "diff_tables",
                        lambda a, b, **kw: (compared.append(a.annotations.num_rows), real(a, b, **kw))[1])
    rng = random.Random(seed)
    rounds = _rounds(seed, 40)
    root = tmp_path_factory.mktemp("dryp")
    repo = annover.init(root / "repo")
    cfg = root / "labeling.xml"
    cfg.write_text('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
                   '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>')
    for i, state in enumerate(rounds):
        preds = {mv: {k: rng.choice("abc") for k in state if rng.random() < 0.7}
                 for mv in ("m1", "m2", "m3") if rng.random() < 0.6}
        path = root / f"r{i}.json"
        path.write_text(json.dumps(_tasks_json(state, preds)))
        kw = {"source": str(path), "config": str(cfg), "key": "data.ext_id"}
        compared.clear()
        dry = repo.snapshot(dry_run=True, **kw)
        if i:  # HEAD's rows of the tasks that differ (one answer row each), not all of them
            changed = {r["task_key"] for r in dry.diff.rows.to_pylist()}
            assert compared == [len(changed & set(rounds[i - 1]))]
        _same_as_snapshot(repo, dry, **kw)
