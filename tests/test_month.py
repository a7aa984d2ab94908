"""A month in the life: a scripted team using annover every day, with invariants checked each day.

Each feature has tests of its own; this one runs them together for many rounds. A seeded
simulation (``ANNOVER_MONTH_SEED``, ``ANNOVER_MONTH_DAYS`` to explore others) of two clones,
alice and bob, of one bare git "origin", with a DVC remote in a local folder and a live Label
Studio project. Each day a few actions are drawn at random from what the team does: new data
pushed to Label Studio (some of it already there, sometimes with a model's predictions) and
labeled through the API by two annotators (answers, relabels, skips), pulled into a version;
bob relabeling from an export file on a branch he pushes, alice merging it (``--ours`` /
``--theirs`` on a conflict) and sometimes putting the merged labels back into Label Studio;
bob catching up with main on his branch; tags, reverts, resets of what is not published yet,
``gc --force``, the loop commands, push and pull.

The test keeps its own model of every version (task -> {part: value}, where a part is one
annotator's answer or one model's prediction) and checks, without hard-coded answers:
a version loads in either clone as the model says, ``annover diff`` of a version against its
first parent counts the model's changes, a merge's conflicts are the model's three-way merge's,
every tag and version of HEAD's history still loads after gc (what a reset dropped until then),
git and annover have nothing pending after a push or a pull,
and the same content gets the same snapshot ids (no new version when nothing changed).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from label_studio_sdk import LabelStudio

import annover

from .conftest import EXAMPLES
from .ls_fixtures import cli, ls_server  # noqa: F401 - fixtures


SEED = int(os.environ.get("ANNOVER_MONTH_SEED", "20261206"))
DAYS = int(os.environ.get("ANNOVER_MONTH_DAYS", "16"))
LABELS = ("pos", "neg", "neutral")
SKIP = "<skip>"
CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">'
          + "".join(f'<Choice value="{x}"/>' for x in LABELS) + "</Choices></View>\n")

#: task key -> {("a", annotator): label or SKIP, ("p", model_version): True}
Content = dict[str, dict[tuple[str, str], Any]]


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert not check or p.returncode == 0, f"git {' '.join(args)} in {cwd.name}: {p.stdout}{p.stderr}"
    return p


def copy(c: Content) -> Content:
    return {k: dict(v) for k, v in c.items()}


# ---------------------------------------------------------------- the model's three-way merge


def merge_model(base: Content, ours: Content, theirs: Content, side: str | None) -> tuple[Content, set[str]]:
    """The merged content and the conflicting tasks, by the README's rule (by task and part);
    a conflict takes ``side``'s (``ours``/``theirs``) value, a removed/changed task its side whole."""
    out: Content = {}
    conflicts: set[str] = set()
    for k in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(k), ours.get(k), theirs.get(k)
        if o == t or t == b:
            got = o
        elif o == b:
            got = t
        elif o is None or t is None:
            conflicts.add(k)
            got = o if side == "ours" else t
        else:
            got, clash = _merge_parts(b or {}, o, t, side)
            if clash:
                conflicts.add(k)
        if got is not None:
            out[k] = got
    return out, conflicts


def _merge_parts(b: dict, o: dict, t: dict, side: str | None) -> tuple[dict, bool]:
    got, clash = {}, False
    for p in set(b) | set(o) | set(t):
        bv, ov, tv = b.get(p), o.get(p), t.get(p)
        if ov == tv or tv == bv:
            v = ov
        elif ov == bv:
            v = tv
        else:
            clash = True
            v = ov if side == "ours" else tv
        if v is not None:
            got[p] = v
    return got, clash


def diff_counts(a: Content, b: Content) -> dict[str, int]:
    """What ``annover diff A B --json`` should count: tasks added/removed, answers added/removed/changed."""
    out = {"tasks_added": len(set(b) - set(a)), "tasks_removed": len(set(a) - set(b)),
           "ann_added": 0, "ann_removed": 0, "ann_changed": 0}
    for k in set(a) | set(b):
        x = {p: v for p, v in a.get(k, {}).items() if p[0] == "a"}
        y = {p: v for p, v in b.get(k, {}).items() if p[0] == "a"}
        out["ann_added"] += len(set(y) - set(x))
        out["ann_removed"] += len(set(x) - set(y))
        out["ann_changed"] += sum(1 for p in set(x) & set(y) if x[p] != y[p])
    return out


# ---------------------------------------------------------------- the world


class Month:
    """Two clones, an origin, a DVC remote folder, a Label Studio project, and the model."""

    def __init__(self, d: Path, server: Any, mp: pytest.MonkeyPatch, rng: random.Random):
        self.d, self.mp, self.rng = d, mp, rng
        self.clients = {"admin@example.com": LabelStudio(base_url=server.url, api_key=server.api_key, timeout=300),
                        server.annotator2_email: LabelStudio(base_url=server.url, api_key=server.annotator2_key,
                                                             timeout=300)}
        self.admin = self.clients["admin@example.com"]
        self.alice, self.bob, self.origin = d / "alice", d / "bob", d / "origin.git"
        self.title = f"t-{uuid.uuid4().hex[:8]}-month"
        self.pid: int | None = None
        self.ls: Content = {}  # what Label Studio holds
        self.ls_ids: dict[str, int] = {}
        self.ann_ids: dict[tuple[str, str], int] = {}
        self.truth: dict[str, Content] = {}  # version id -> content
        self.tags: dict[str, str] = {}  # tag -> version id (those we made and never moved)
        self.seen_tables: dict[str, dict] = {}
        self.dropped: set[str] = set()  # versions alice's reset dropped  # version id -> its record's tables
        self.next_key = 0
        self.log: list[str] = []

    # -- running things

    def run(self, where: Path, *args: str, codes: tuple[int, ...] = (0,)) -> tuple[int, str, str]:
        self.mp.chdir(where)
        code, out, err = cli(*args)
        self.log.append(f"{where.name}$ annover {' '.join(args)} -> {code}")
        assert code in codes, f"{where.name}$ annover {' '.join(args)} -> {code}\n{out}\n{err}\n" + self.story()
        return code, out, err

    def story(self) -> str:
        return "the story so far:\n  " + "\n  ".join(self.log[-40:])

    def head(self, where: Path) -> str:
        f = where / ".annover" / "HEAD"
        return f.read_text().strip() if f.exists() else ""

    def show(self, where: Path, rev: str) -> dict:
        return json.loads(self.run(where, "show", rev, "--json")[1])

    # -- reading a version as the model sees it

    def loaded(self, where: Path, rev: str) -> Content:
        got: Content = {k: {} for k in annover.load(rev, repo=str(where), table="tasks",
                                                      columns=["task_key"]).column("task_key").to_pylist()}
        ann = annover.load(rev, repo=str(where), columns=["task_key", "annotator", "labels", "was_cancelled"])
        for r in ann.to_pylist():
            got[r["task_key"]][("a", r["annotator"])] = SKIP if r["was_cancelled"] else r["labels"][0]
        preds = annover.load(rev, repo=str(where), table="predictions", columns=["task_key", "model_version"])
        for r in preds.to_pylist():
            got[r["task_key"]][("p", r["model_version"])] = True
        return got

    def check_loads(self, where: Path, vid: str, rev: str | None = None) -> None:
        want = self.truth[vid]
        try:
            got = self.loaded(where, rev or vid)
        except Exception as e:
            raise AssertionError(f"{where.name}: {rev or vid[:12]} does not load: {e}\n{self.story()}") from e
        if got != want:
            bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            raise AssertionError(f"{where.name}: {vid[:12]} loads other than the model: "
                                 + "; ".join(f"{k}: got {got.get(k)} want {want.get(k)}" for k in bad[:8])
                                 + "\n" + self.story())

    def record(self, where: Path, vid: str, content: Content, parent: str | None) -> None:
        """A new version: the model's content, the diff against its first parent, the same
        snapshot ids as any other version of the same content."""
        assert vid not in self.truth, f"{vid[:12]} made twice\n{self.story()}"
        self.truth[vid] = copy(content)
        self.log.append(f"   = {vid[:12]} ({len(content)} tasks)")
        self.check_loads(where, vid)
        if parent is not None:
            self.check_diff(where, parent, vid)
        self.check_snapshot_ids(where, vid)

    def check_diff(self, where: Path, a: str, b: str) -> None:
        s = json.loads(self.run(where, "diff", a, b, "--json", "--no-drift")[1])
        got = {"tasks_added": s["tasks"]["added"], "tasks_removed": s["tasks"]["removed"],
               "ann_added": s["annotations"]["added"], "ann_removed": s["annotations"]["removed"],
               "ann_changed": s["annotations"]["changed"]}
        want = diff_counts(self.truth[a], self.truth[b])
        assert got == want, f"diff {a[:12]} {b[:12]}: {got} != model {want}\n{self.story()}"

    def check_snapshot_ids(self, where: Path, vid: str) -> None:
        mine = self.show(where, vid)["tables"]
        for other, content in self.truth.items():
            if other != vid and content == self.truth[vid] and other in self.seen_tables:
                theirs = self.seen_tables[other]
                assert {t: mine[t].get("id") for t in ("tasks", "annotations")} == \
                    {t: theirs[t].get("id") for t in ("tasks", "annotations")}, \
                    f"{vid[:12]} and {other[:12]} hold the same content and differ in snapshot ids\n{self.story()}"
        self.seen_tables[vid] = mine

    # -- Label Studio, as the labelers use it

    def text_of(self, key: str) -> str:
        words = random.Random(key).choices(("good", "bad", "fine", "slow", "cheap", "loud", "nice", "broken"), k=6)
        return f"review {key}: " + " ".join(words)

    def new_data(self) -> None:
        """New texts arrive (and a few already sent), pushed with a model's predictions sometimes."""
        rng = self.rng
        new = [f"k{self.next_key + i:03d}" for i in range(rng.randint(2, 5))]
        self.next_key += len(new)
        dups = rng.sample(sorted(self.ls), min(len(self.ls), rng.randint(0, 2)))
        rows = [{"id": k, "text": self.text_of(k)} for k in new + dups]
        rng.shuffle(rows)
        src = self.d / f"data-{self.next_key}.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        args = ["dataset", "push", self.title, "--from", str(src), "--key", "data.id"]
        model = rng.choice(("m1", "m2")) if rng.random() < 0.4 else None
        if model:
            preds = self.d / f"preds-{self.next_key}.jsonl"
            preds.write_text("".join(json.dumps({"task_key": k, "model_version": model, "score": rng.random(),
                                                 "result": choice(rng.choice(LABELS))}) + "\n" for k in new))
            args += ["--predictions", str(preds)]
        self.run(self.alice, *args)
        for k in new:
            self.ls[k] = {("p", model): True} if model else {}
        self.ls_ids.update({t.data["id"]: t.id for t in self.admin.tasks.list(project=self.pid)})

    def annotate(self) -> None:
        """A few tasks answered, relabeled or skipped, by one annotator or both."""
        rng = self.rng
        for k in rng.sample(sorted(self.ls), min(len(self.ls), rng.randint(2, 6))):
            who = rng.choice(sorted(self.clients))
            have = self.ls[k].get(("a", who))
            if have is None:
                self.put_answer(k, who, SKIP if rng.random() < 0.15 else rng.choice(LABELS))
            elif rng.random() < 0.15:
                self.put_answer(k, who, None)  # the annotator deletes their answer
            elif have != SKIP and rng.random() < 0.7:
                self.put_answer(k, who, rng.choice([x for x in LABELS if x != have]))

    def put_answer(self, k: str, who: str, label: str | None) -> None:
        """Label Studio's answer of ``who`` on ``k`` made ``label`` (SKIP: a skip; None: deleted)."""
        client, aid = self.clients[who], self.ann_ids.get((k, who))
        body = {"result": [], "was_cancelled": True} if label == SKIP else {"result": choice(label or "pos"),
                                                                           "was_cancelled": False}
        if label is None:
            if aid is not None:
                client.annotations.delete(id=aid)
                del self.ann_ids[(k, who)]
            self.ls[k].pop(("a", who), None)
            return
        if aid is None:
            self.ann_ids[(k, who)] = client.annotations.create(id=self.ls_ids[k], **body).id
        else:
            client.annotations.update(id=aid, **body)
        self.ls[k][("a", who)] = label

    def ls_snapshot(self) -> None:
        """``annover snapshot --label-studio``: Label Studio's content, or no new version when HEAD has it."""
        before = self.head(self.alice)
        args = ["snapshot", "--label-studio", self.title, "--key", "data.id", "-m", f"pull {len(self.log)}"]
        if self.rng.random() < 0.2:
            args.append("--full")
        _, _, err = self.run(self.alice, *args)
        after = self.head(self.alice)
        if before and self.truth.get(before) == self.ls:
            assert after == before and "no new version" in err, f"{err}\n{self.story()}"
        else:
            assert after != before, f"{err}\n{self.story()}"
            self.record(self.alice, after, self.ls, before or None)

    def sync_ls_to(self, content: Content) -> None:
        """alice puts a version's answers back into Label Studio (after a merge of relabels)."""
        for k in sorted(set(content) & set(self.ls)):
            for who in sorted(self.clients):
                want = content[k].get(("a", who))
                if self.ls[k].get(("a", who)) != want:
                    self.put_answer(k, who, want)

    # -- the team: branches, merges, push and pull

    def publish_alice(self) -> None:
        """``annover push && git push origin main --tags``; a refused tag (bob gave the number
        first) is settled by the README's flow: fetch, pull, merge (which renumbers), push."""
        self.run(self.alice, "push")
        if git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=self.alice, check=False).returncode != 0:
            self.log.append("alice$ git push refused")
            self.merge_bob(side=self.rng.choice(("ours", "theirs")))
            self.run(self.alice, "push")
            git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=self.alice)
        self.check_clean(self.alice, "main")

    def check_clean(self, where: Path, branch: str) -> None:
        """Nothing pending: git's work tree, the DVC remote, the branch against origin."""
        assert git("status", "--porcelain", cwd=where).stdout == "", f"{where.name}: git status\n{self.story()}"
        st = json.loads(self.run(where, "status", "--json")[1])
        assert st["unpushed"] == 0 and st["pushed"] and not st["interrupted"], f"{st}\n{self.story()}"
        assert git("rev-parse", "HEAD", cwd=where).stdout == git("rev-parse", f"origin/{branch}", cwd=where).stdout

    def bob_sync(self) -> None:
        """bob fetches; with his relabels merged (or none), he starts again from origin/main."""
        git("fetch", "-q", "origin", "--tags", cwd=self.bob, check=False)
        refs = git("branch", "-r", cwd=self.bob).stdout
        merged = "origin/relabel" not in refs or git("merge-base", "--is-ancestor", "origin/relabel", "origin/main",
                                                     cwd=self.bob, check=False).returncode == 0
        if merged:
            git("checkout", "-q", "-B", "relabel", "origin/main", cwd=self.bob)
        self.run(self.bob, "pull")
        self.run(self.bob, "pull", "origin/main")
        if not merged and self.rng.random() < 0.4:
            self.merge(self.bob, "origin/main")  # bob catches up with main on his branch
            self.run(self.bob, "push")
            git("push", "-q", "--atomic", "origin", "relabel", "--tags", cwd=self.bob)
        for rev in ("HEAD", "origin/main"):
            self.check_loads(self.bob, self.show(self.bob, rev)["id"])
        assert git("status", "--porcelain", cwd=self.bob).stdout == "", f"bob: git status\n{self.story()}"
        st = json.loads(self.run(self.bob, "status", "--json")[1])
        assert (st["unpushed"], st["missing_locally"], st["interrupted"]) == (0, 0, False), f"{st}\n{self.story()}"

    def bob_relabel(self) -> None:
        """bob relabels a few answers from an export file on his branch, and pushes it."""
        self.bob_sync()
        before = self.head(self.bob)
        content = copy(self.truth[before])
        answers = sorted((k, p) for k, parts in content.items() for p, v in parts.items() if p[0] == "a" and v != SKIP)
        if not answers:
            return
        out = self.d / f"bob-{len(self.log)}.json"
        self.run(self.bob, "export", "HEAD", "--format", "label-studio", "--out", str(out))
        doc = json.loads(out.read_text())
        for k, (_, who) in self.rng.sample(answers, min(len(answers), self.rng.randint(1, 3))):
            new = self.rng.choice([x for x in LABELS if x != content[k][("a", who)]])
            (task,) = [t for t in doc if t["data"]["id"] == k]
            (ann,) = [a for a in task["annotations"] if a["completed_by"]["email"] == who]
            ann["result"][0]["value"]["choices"] = [new]
            content[k][("a", who)] = new
        out.write_text(json.dumps(doc))
        self.run(self.bob, "snapshot", "--from", str(out), "-m", "bob's relabels")
        self.record(self.bob, self.head(self.bob), content, before)
        self.run(self.bob, "push")
        git("push", "-q", "-u", "origin", "relabel", "--tags", cwd=self.bob)
        self.check_clean(self.bob, "relabel")

    def merge_bob(self, side: str | None = None) -> None:
        """alice merges origin/relabel; the conflicts are the model's; a side settles them."""
        git("fetch", "-q", "origin", cwd=self.alice, check=False)  # a tag clash is refused, as git does
        if "origin/relabel" not in git("branch", "-r", cwd=self.alice).stdout:
            return
        self.run(self.alice, "pull", "origin/relabel")
        merged = self.merge(self.alice, "origin/relabel", side)
        if self.rng.random() < 0.6:
            self.sync_ls_to(merged)

    def merge(self, where: Path, rev: str, side: str | None = None) -> Content:
        """``annover merge REV`` in ``where``: the conflicts and the result are the model's."""
        ours, theirs = self.head(where), self.show(where, rev)["id"]
        base = self.show(where, git("merge-base", "HEAD", rev, cwd=where).stdout.strip())["id"]
        merged, conflicts = merge_model(self.truth[base], self.truth[ours], self.truth[theirs], None)
        code, out, _ = self.run(where, "merge", rev, "--dry-run", "--json", codes=(0, 16))
        said = {c["task_key"] for c in json.loads(out).get("conflicts", [])} if out.strip() else set()
        assert said == conflicts and (code == 16) == bool(conflicts), \
            f"merge conflicts {sorted(said)} != model {sorted(conflicts)}\n{self.story()}"
        side = side or self.rng.choice(("ours", "theirs"))
        merged, _ = merge_model(self.truth[base], self.truth[ours], self.truth[theirs], side)
        self.run(where, "merge", rev, *([f"--{side}"] if conflicts else []))
        after = self.head(where)
        if after == ours:
            assert merged == self.truth[ours], self.story()
        elif after == theirs:
            assert merged == self.truth[theirs], self.story()
        else:
            assert self.show(where, after)["parents"] == [ours, theirs]
            self.record(where, after, merged, ours)
        return merged

    # -- the rest of the day

    def revert(self) -> None:
        before = self.head(self.alice)
        parents = self.show(self.alice, before)["parents"]
        if not parents:
            return
        code, _, err = self.run(self.alice, "revert", "-m", "undo", codes=(0, 8))
        if code == 8:  # HEAD~1 came in by a merge whose own pull fetched only the merged version's objects
            assert "run `annover pull HEAD~1`" in err, f"{err}\n{self.story()}"
            self.run(self.alice, "pull", "HEAD~1")
            self.run(self.alice, "revert", "-m", "undo")
        after = self.head(self.alice)
        assert self.show(self.alice, after)["parents"] == [before]
        self.record(self.alice, after, self.truth[parents[0]], before)

    def reset(self) -> None:
        """alice drops her newest version, not published yet (``annover reset HEAD~1 --force``); it
        loads by its id until the next gc frees it."""
        before = self.head(self.alice)
        parents = self.show(self.alice, before)["parents"]
        if not parents:
            return
        code, _, err = self.run(self.alice, "reset", "HEAD~1", "--force", codes=(0, 2))
        if code == 2:  # published (origin/main, or origin/relabel after a fast-forward): refused
            assert "is already on origin/" in err and self.head(self.alice) == before, f"{err}\n{self.story()}"
            return
        assert self.head(self.alice) == parents[0], self.story()
        self.dropped.add(before)
        self.tags = {name: vid for name, vid in self.tags.items() if vid != before}  # gone with it
        self.check_loads(self.alice, before)

    def tag(self) -> None:
        name = f"good-{len(self.tags)}"
        rev = self.rng.choice(("HEAD", "HEAD~1")) if self.show(self.alice, "HEAD")["parents"] else "HEAD"
        vid = self.show(self.alice, rev)["id"]
        self.run(self.alice, "tag", name, rev)
        self.tags[name] = vid

    def gc(self) -> None:
        for where in (self.alice, self.bob):
            self.run(where, "pull")  # the objects of every version HEAD and the tags reach
            self.check_everything(where)
            self.run(where, "gc", "--force")
            self.log.append("   (after gc)")
            if where == self.alice:
                self.dropped.clear()  # what `annover reset` dropped goes at gc (README: Freeing disk space)
            self.check_everything(where)

    def check_everything(self, where: Path) -> None:
        """Every version of HEAD's history and every tag made loads as the model says."""
        ids = [v["id"] for v in json.loads(self.run(where, "log", "--json")[1])]
        for vid in ids:
            if vid in self.truth:
                self.check_loads(where, vid)
        if where == self.alice:
            for vid in sorted(self.dropped):  # in git's history, not yet collected
                self.check_loads(where, vid)
            for name, vid in self.tags.items():
                assert self.show(where, name)["id"] == vid
                self.check_loads(where, vid, name)

    def loop(self) -> None:
        """The loop commands on HEAD: they answer (a version with no predictions: eval says so)."""
        self.run(self.alice, "agreement", "HEAD", "--json")
        self.run(self.alice, "suspects", "HEAD", "--json")
        self.run(self.alice, "sample", "HEAD", "--strategy", "random", "-n", "3", "--seed", str(len(self.log)))
        self.run(self.alice, "eval", "HEAD", "--json", codes=(0, 2))

    # -- a day

    def setup(self) -> None:
        git("init", "-q", "--bare", "-b", "main", str(self.origin), cwd=self.d)
        self.run(self.d, "init", str(self.alice), "--remote", str(self.d / "dvc-remote"))
        git("remote", "add", "origin", str(self.origin), cwd=self.alice)
        (self.d / "labeling.xml").write_text(CONFIG)
        _, out, _ = self.run(self.alice, "dataset", "create", self.title, "--config", str(self.d / "labeling.xml"))
        self.pid = int(out.split()[0])
        self.new_data()
        self.annotate()
        self.ls_snapshot()
        self.run(self.alice, "push")
        git("push", "-q", "-u", "origin", "main", "--tags", cwd=self.alice)
        git("clone", "-q", str(self.origin), str(self.bob), cwd=self.d)
        self.bob_sync()

    ACTIONS = {"label": 5, "relabel_branch": 2, "merge": 2, "revert": 1, "tag": 1, "gc": 1, "loop": 1,
               "resnapshot": 1, "reset": 1}

    def day(self, n: int) -> None:
        self.log.append(f"-- day {n}")
        names = list(self.ACTIONS)
        for act in self.rng.choices(names, weights=[self.ACTIONS[a] for a in names], k=self.rng.randint(2, 4)):
            self.log.append(f"  {act}")
            if act == "label":
                if self.rng.random() < 0.5:
                    self.new_data()
                self.annotate()
                self.ls_snapshot()
            elif act == "resnapshot":
                self.ls_snapshot()
            elif act == "relabel_branch":
                self.bob_relabel()
            elif act == "merge":
                self.merge_bob()
            else:
                getattr(self, act)()
        self.publish_alice()
        self.bob_sync()
        self.check_loads(self.alice, self.head(self.alice))

    def cleanup(self) -> None:
        if self.pid is not None:
            try:
                self.admin.projects.delete(id=self.pid)
            except Exception:
                pass


@pytest.fixture
def month(ls_server, tmp_path, monkeypatch) -> Iterator[Month]:  # noqa: F811
    if not ls_server.annotator2_key or not ls_server.annotator2_email:
        pytest.skip("the Label Studio server gives no second annotator's key")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    m = Month(tmp_path, ls_server, monkeypatch, random.Random(SEED))
    try:
        yield m
    finally:
        m.cleanup()


@pytest.mark.labelstudio
@pytest.mark.slow
def test_a_month_of_a_team_keeps_every_invariant(month):
    try:
        month.setup()
        for n in range(1, DAYS + 1):
            month.day(n)
        month.gc()
        assert len(month.truth) >= DAYS // 2, month.story()
    finally:
        if os.environ.get("ANNOVER_MONTH_LOG"):
            Path(os.environ["ANNOVER_MONTH_LOG"]).write_text("\n".join(month.log) + "\n")


# ---------------------------------------------------------------- what the month found, each alone


def test_the_publish_command_annover_gives_pushes_nothing_when_a_tag_is_refused(tmp_path, monkeypatch):
    """bob publishes his relabel branch's v2 (``git push -u origin relabel --tags``) while alice
    makes a v2 of her own on main. The command ``annover push`` and ``status`` gave alice,
    ``git push origin main --tags``, is not atomic: git refused the tag v2 (origin has bob's)
    and pushed main anyway, so alice's v2 was on origin/main, published under no tag of its own,
    and ``annover merge origin/relabel`` refused to renumber it (exit 16: "on a git remote
    already"), leaving ``revert --to`` as the only way on. The command is ``git push --atomic``:
    nothing is pushed, and the README's flow (fetch, pull, merge: renumbered) goes through."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    origin, alice, bob = tmp_path / "origin.git", tmp_path / "alice", tmp_path / "bob"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("init", str(alice), "--remote", str(tmp_path / "dvc-remote"))[0] == 0
    git("remote", "add", "origin", str(origin), cwd=alice)
    rounds = json.loads((EXAMPLES / "round2.json").read_text())
    files = {}
    for who, label in (("alice", "negative"), ("bob", "neutral")):
        rounds[0]["annotations"][0]["result"][0]["value"]["choices"] = [label]
        files[who] = tmp_path / f"{who}.json"
        files[who].write_text(json.dumps(rounds))

    def ok(where: Path, *args: str) -> str:
        monkeypatch.chdir(where)
        code, out, err = cli(*args)
        assert code == 0, f"annover {' '.join(args)} -> {code}: {err}"
        return out

    ok(alice, "snapshot", "--from", str(EXAMPLES / "round1.json"), "--config", str(EXAMPLES / "labeling.xml"),
       "--key", "data.ext_id", "-m", "round 1")
    ok(alice, "push")
    git("push", "-q", "-u", "origin", "main", "--tags", cwd=alice)
    git("clone", "-q", str(origin), str(bob), cwd=tmp_path)
    ok(bob, "pull")
    git("switch", "-q", "-c", "relabel", cwd=bob)
    ok(bob, "snapshot", "--from", str(files["bob"]), "-m", "bob's relabels")
    ok(bob, "push")
    git("push", "-q", "-u", "origin", "relabel", "--tags", cwd=bob)
    ok(alice, "snapshot", "--from", str(files["alice"]), "-m", "alice's round")
    ok(alice, "push")
    publish = json.loads(ok(alice, "status", "--json"))["git"]["publish"]
    assert publish.startswith("git push "), publish
    pushed = subprocess.run(publish.split(), cwd=alice, capture_output=True, text=True)
    assert pushed.returncode != 0 and "v2" in pushed.stderr, pushed.stderr
    assert git("ls-remote", str(origin), "refs/heads/main", cwd=tmp_path).stdout.split()[0] \
        != git("rev-parse", "HEAD", cwd=alice).stdout.strip(), "main went out without its tag"
    git("fetch", "-q", "origin", cwd=alice, check=False)  # git refuses bob's v2 here: alice has a v2
    ok(alice, "pull", "origin/relabel")
    monkeypatch.chdir(alice)
    code, out, err = cli("merge", "origin/relabel", "--theirs")
    assert code == 0 and "renumbered this branch's v2 as v3" in err, err
    ok(alice, "push")
    assert subprocess.run(publish.split(), cwd=alice, capture_output=True).returncode == 0
