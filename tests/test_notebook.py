"""The notebook annotator without a browser: the session's state machine, its journal and
resume, where tasks and labels come from, and the widget's model (what a click or key does)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.errors import UsageError
from annover.notebook.session import Prediction, Session, Task
from annover.notebook.sources import generated_config, pick_control
from annover.model.config import LabelingConfig

LABELS = ["positive", "negative", "neutral"]


class Clock:
    """A fake clock: each reading is one second after the last."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def tasks(n: int = 5, prediction: bool = False) -> list[Task]:
    return [Task(f"t{i}", {"text": f"text {i}"}, "text",
                 prediction=Prediction(("negative",), "m-1", 0.7) if prediction and i % 2 == 0 else None)
            for i in range(n)]


def session(tmp_path: Path | None = None, n: int = 5, **kw) -> Session:
    journal = tmp_path / "journal.json" if tmp_path is not None else None
    return Session(tasks(n, kw.pop("prediction", False)), kw.pop("labels", LABELS), kw.pop("annotator", "ann@x.org"),
                   "sentiment", "text", kw.pop("multiple", False), journal, clock=kw.pop("clock", Clock()), **kw)


def test_answer_skip_back_undo_move_and_count():
    s = session()
    s.choose("positive")
    assert s.position == 1 and s.answers["t0"].labels == ("positive",)
    s.skip()
    assert s.answers["t1"].skipped and s.answers["t1"].labels == ()
    assert s.progress() == {"position": 2, "total": 5, "labeled": 1, "skipped": 1, "remaining": 3}
    s.back()
    assert s.position == 1 and s.selection == []  # a skip pre-selects nothing
    s.back()
    assert s.selection == ["positive"]  # its answer, to change it
    s.choose("neutral")
    assert s.answers["t0"].labels == ("neutral",) and s.position == 1
    assert s.undo() is True
    assert s.answers["t0"].labels == ("positive",) and s.position == 0
    assert s.undo() and s.undo()
    assert s.answers == {} and s.position == 0
    assert s.undo() is False


def test_lead_time_and_times_as_label_studio_records_them():
    s = session()
    s.choose("positive")  # shown at t+1, answered at t+2
    a = s.answers["t0"]
    assert a.lead_time == 1.0
    assert a.created_at.endswith("Z") and a.created_at == a.updated_at
    s.back()
    s.choose("negative")  # one more second on the same task
    b = s.answers["t0"]
    assert b.lead_time == 2.0 and b.created_at == a.created_at and b.updated_at > a.updated_at


def test_prediction_is_preselected_and_own_answer_wins():
    s = session(prediction=True)
    assert s.selection == ["negative"]
    s.submit()  # single choice: submit answers with the selection (the prediction accepted)
    assert s.answers["t0"].labels == ("negative",)
    assert s.selection == []  # t1 has no prediction
    s.back()
    s.choose("positive")
    s.back()
    assert s.selection == ["positive"]


def test_single_choice_submit_accepts_what_is_preselected_and_nothing_else(tmp_path):
    """The widget's Enter in single choice: the suggestion, or the task's own answer; with nothing
    pre-selected it is refused and nothing is recorded (the view sends no Enter then)."""
    s = session(tmp_path, n=3, prediction=True)  # t0 has a prediction, t1 none
    s.submit()
    assert s.answers["t0"].labels == ("negative",) and s.position == 1 and s.selection == []
    journal = s.journal.read_bytes()
    with pytest.raises(UsageError, match="no label chosen"):
        s.submit()
    assert "t1" not in s.answers and s.position == 1 and s.journal.read_bytes() == journal
    s.choose("positive")
    s.back()
    assert s.selection == ["positive"]
    s.submit()  # the answer given before, accepted again
    assert s.answers["t1"].labels == ("positive",) and s.position == 2


def test_multi_label_toggles_then_submits():
    s = session(multiple=True)
    s.choose("neutral")
    s.choose("positive")
    assert s.selection == ["positive", "neutral"] and s.position == 0  # label order, not click order
    s.choose("neutral")
    assert s.selection == ["positive"]
    s.choose("negative")
    s.submit()
    assert s.answers["t0"].labels == ("positive", "negative") and s.position == 1
    with pytest.raises(UsageError, match="no label chosen"):
        s.submit()


def test_refusals_are_one_line_user_errors():
    s = session(n=1)
    with pytest.raises(UsageError, match="unknown label 'maybe'"):
        s.choose("maybe")
    with pytest.raises(UsageError, match="one label expected"):
        s.answer(["positive", "negative"])
    s.skip()
    assert s.done and s.current is None
    with pytest.raises(UsageError, match="every task is done"):
        s.choose("positive")
    with pytest.raises(UsageError, match="no task 7"):
        s.goto(7)
    with pytest.raises(UsageError, match="no tasks to label"):
        Session([], LABELS, "a")
    with pytest.raises(UsageError, match="no labels"):
        Session(tasks(1), [], "a")
    with pytest.raises(UsageError, match="given twice"):
        Session(tasks(2) + tasks(1), LABELS, "a")


def test_the_journal_is_written_at_each_answer_and_resumes(tmp_path):
    s = session(tmp_path)
    s.choose("positive")
    s.skip()
    doc = json.loads((tmp_path / "journal.json").read_text())
    assert doc["session"] == s.id and doc["position"] == 2 and set(doc["answers"]) == {"t0", "t1"}
    again = session(tmp_path)
    assert again.state() == s.state() and again.position == 2
    assert [p.name for p in tmp_path.iterdir()] == ["journal.json"]  # no temporary file left behind


def test_a_journal_of_other_tasks_or_another_annotator_is_refused(tmp_path):
    session(tmp_path).choose("positive")
    with pytest.raises(UsageError, match="journal of another session"):
        session(tmp_path, annotator="someone@else.org")
    with pytest.raises(UsageError, match="journal of another session"):
        session(tmp_path, n=4)


def test_a_kernel_killed_after_an_answer_loses_nothing(tmp_path):
    """A process that answers and dies at once (SIGKILL, no clean-up): the journal holds the answers."""
    code = (
        "import os, signal, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_notebook import session\n"
        "from pathlib import Path\n"
        "s = session(Path(sys.argv[1]))\n"
        "s.choose('negative'); s.skip(); s.choose('neutral')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(Path(__file__).parent)], capture_output=True)
    assert p.returncode == -9
    s = session(tmp_path)
    assert {k: (a.labels, a.skipped) for k, a in s.answers.items()} == {
        "t0": (("negative",), False), "t1": ((), True), "t2": (("neutral",), False)}
    assert s.position == 3


ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("choose"), st.sampled_from(LABELS)),
    st.tuples(st.just("skip")), st.tuples(st.just("back")), st.tuples(st.just("forward")),
    st.tuples(st.just("undo")), st.tuples(st.just("goto"), st.integers(0, 4)),
), max_size=40)


def _run(s: Session, actions: list[tuple]) -> None:
    for name, *args in actions:
        if name in ("choose", "skip") and s.current is None:
            continue
        getattr(s, name)(*args)


@settings(max_examples=60, deadline=None)
@given(ACTIONS, st.integers(0, 40))
def test_any_sequence_then_resume_gives_the_same_state(tmp_path_factory, actions, cut):
    """Resuming from the journal after any prefix, then going on, ends where one session ends."""
    d = tmp_path_factory.mktemp("j")
    whole = session()
    _run(whole, actions)
    first = session(d)
    _run(first, actions[:cut])
    resumed = session(d)
    assert resumed.state() == first.state()
    _run(resumed, actions[cut:])
    assert _without_times(resumed.state()) == _without_times(whole.state())
    assert resumed.selection == resumed.preselected()


def _without_times(state: dict) -> dict:
    """The state without clock readings (a resumed session read the fake clock anew)."""
    strip = lambda a: a and {k: v for k, v in a.items() if k not in ("lead_time", "created_at", "updated_at")}
    return {**state, "answers": {k: strip(a) for k, a in state["answers"].items()},
            "history": [{**h, "before": strip(h["before"])} for h in state["history"]]}


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_undo_to_the_start_takes_back_every_answer(actions):
    s = session()
    _run(s, actions)
    while s.undo():
        pass
    assert s.answers == {}


# ---------------------------------------------------------------------------- configs


def test_labels_come_from_the_choices_control():
    cfg = LabelingConfig((Path(__file__).parents[1] / "examples/sentiment/labeling.xml").read_text(), validate=False)
    ctl = pick_control(cfg, None, "cfg")
    assert ctl.name == "sentiment" and ctl.labels == ("positive", "negative", "neutral")
    no_choices = LabelingConfig('<View><Text name="t" value="$text"/><Labels name="l" toName="t">'
                                '<Label value="A"/></Labels></View>', validate=False)
    with pytest.raises(UsageError, match="has no Choices control: the notebook annotator labels with one"):
        pick_control(no_choices, None, "the labeling config of v1")


def test_generated_config_is_a_valid_label_studio_config():
    text = generated_config("image", ["cat", 'd"og & <b>'], multiple=True)
    cfg = LabelingConfig(text)  # the SDK's verdict
    ctl = cfg.controls["label"]
    assert ctl.labels == ("cat", 'd"og & <b>') and ctl.choice == "multiple" and cfg.objects["image"].tag == "Image"


# ---------------------------------------------------------------------------- the widget's model


widget = pytest.importorskip("annover.notebook.widget")


def test_import_annover_loads_no_widget_library():
    code = ("import sys, annover; annover.Repo; "
            "print([m for m in ('anywidget', 'ipywidgets', 'traitlets', 'annover.notebook') if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"


def test_shortcut_keys_are_digits_then_letters_but_not_skip_or_undo():
    keys = widget.shortcut_keys(12)
    assert keys == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c"]
    assert "s" not in widget.shortcut_keys(40) and "u" not in widget.shortcut_keys(40)


def test_a_command_from_the_front_end_changes_the_session_and_the_view(tmp_path):
    ann = widget.Annotator(session(tmp_path, prediction=True), root=tmp_path)
    v = ann.view
    assert v["task"]["key"] == "t0" and v["task"]["prediction"] == {"labels": ["negative"], "model_version": "m-1",
                                                                   "score": 0.7}
    assert [(lab["name"], lab["key"], lab["selected"]) for lab in v["labels"]] == [
        ("positive", "1", False), ("negative", "2", True), ("neutral", "3", False)]
    ann.command = {"action": "choose", "label": "positive", "seq": 1}
    assert ann.session.answers["t0"].labels == ("positive",) and ann.view["task"]["key"] == "t1"
    assert ann.view["progress"]["labeled"] == 1 and ann.view["saved"]["text"] == "✓ in the journal · 1 not in a version yet"
    ann.command = {"action": "skip", "seq": 2}
    ann.command = {"action": "back", "seq": 3}
    assert ann.view["task"]["answer"] == {"labels": [], "skipped": True}
    ann.command = {"action": "choose", "label": "nope", "seq": 4}  # refused: shown, not raised
    assert "unknown label 'nope'" in ann.view["error"]
    ann.command = {"action": "goto", "index": "x", "seq": 4}  # refused: shown, not raised
    assert "task index 'x' is not a number" in ann.view["error"]
    ann.command = {"action": "undo", "seq": 5}
    assert ann.view["error"] is None and "t1" not in ann.session.answers
    assert ann.answers.column("task_key").to_pylist() == ["t0"]


def test_images_local_inline_urls_as_they_are_missing_as_a_placeholder(tmp_path):
    """A local image is not in the view: the page asks for it by task key and gets it once, in the
    view that answers the request; a URL is in the view as it is; a missing file is a placeholder."""
    png = tmp_path / "cat.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    items = ["cat.png", "https://example.org/dog.jpg", "missing/bird.png"]
    imgs = [Task(f"i{i}", {"image": p}, "image", "image") for i, p in enumerate(items)]
    ann = widget.Annotator(Session(imgs, ["cat", "dog"], "a", "label", "image"), root=tmp_path)
    assert ann.view["task"]["src"] is None and ann.view["task"]["load"] == "i0" and ann.view["image"] is None
    assert ann.view["next"] is None  # the next task is a URL: nothing to fetch ahead
    ann.command = {"action": "image", "key": "i0", "seq": 1}
    assert ann.view["image"]["key"] == "i0" and ann.view["image"]["src"].startswith("data:image/png;base64,")
    ann.command = {"action": "image", "key": "../cat.png", "seq": 2}  # a task key, never a path
    assert ann.view["image"] == {"key": "../cat.png", "src": None, "missing": "no image task '../cat.png'"}
    ann.skip()
    assert ann.view["image"] is None  # sent once: the next view is without it
    assert ann.view["task"]["src"] == "https://example.org/dog.jpg" and ann.view["task"]["load"] is None
    ann.skip()
    assert ann.view["task"]["src"] is None and ann.view["task"]["load"] is None
    assert ann.view["task"]["missing"] == "image not found: missing/bird.png"


class Wire:
    """A comm that counts what the widget sends the page (as a kernel's comm would send it)."""

    comm_id = "wire"
    kernel = object()

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []  # (JSON bytes, binary buffer bytes) per message

    def on_msg(self, callback) -> None:
        self.callback = callback

    def send(self, data=None, buffers=None, **kw) -> None:
        self.sent.append((len(json.dumps(data)), sum(memoryview(b).nbytes for b in buffers or [])))

    def close(self, *a, **kw) -> None:
        pass


def _from_page(ann, command: dict) -> None:
    """A command as the page's comm message brings it (ipywidgets' own handling: lock, echo, observers)."""
    ann._handle_msg({"content": {"data": {"method": "update", "state": {"command": command},
                                          "buffer_paths": []}}, "buffers": []})


def test_commands_on_an_image_task_send_no_image_and_an_asked_one_goes_as_bytes(tmp_path):
    """Every command re-sent the shown image, base64 in the view (a 5 MB photo: 6.8 MB per click,
    also for a multi-label toggle on the same task and for going back to an image already sent).
    Now the view carries no image; the one the page asks for goes once, as a binary buffer."""
    Image = pytest.importorskip("PIL.Image")
    for i in range(2):
        Image.frombytes("RGB", (1300, 1300), bytes(random.Random(i).randbytes(1300 * 1300 * 3))).save(
            tmp_path / f"photo{i}.png")
    size = (tmp_path / "photo0.png").stat().st_size
    assert size > 5_000_000
    imgs = [Task(f"i{i}", {"image": f"photo{i}.png"}, "image", "image") for i in range(2)]
    ann = widget.Annotator(Session(imgs, ["cat", "dog"], "a", "label", "image", multiple=True), root=tmp_path)
    ann.comm = wire = Wire()
    seq = iter(range(1, 100))
    for cmd in [{"action": "choose", "label": "cat"}, {"action": "choose", "label": "dog"},
                {"action": "choose", "label": "cat"}, {"action": "submit"}, {"action": "back"},
                {"action": "forward"}, {"action": "back"}, {"action": "skip"}, {"action": "undo"}]:
        _from_page(ann, {**cmd, "seq": next(seq)})
    assert ann.session.answers["i0"].labels == ("dog",) and ann.session.position == 0
    assert max(j + b for j, b in wire.sent) < 5_000 and sum(j + b for j, b in wire.sent) < 30_000
    wire.sent.clear()
    ann._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "image", "key": "i0"}}},
                     "buffers": []})  # the page asks with a custom message (a command could be replaced)
    (json_bytes, buffer_bytes), = [m for m in wire.sent if m[1]]
    assert buffer_bytes == size and json_bytes < 5_000  # the file's bytes, not a third more of base64
    assert ann.view["next"] == "i1"  # fetched ahead by the page while i0 is labeled
    wire.sent.clear()
    _from_page(ann, {"action": "choose", "label": "cat", "seq": next(seq)})
    assert sum(j + b for j, b in wire.sent) < 5_000 and ann.view["image"] is None


def _custom(ann, content: dict) -> None:
    """A custom message from the page, through ipywidgets' own handling."""
    ann._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_commands_as_custom_messages_are_applied_once_in_the_pages_order(tmp_path):
    """A page numbers its commands (seq, per page) and sends the ones the view has not acknowledged
    again: each is applied once, in order; one sent again is only acknowledged again; one past a
    gap waits for the page to send the gap; another view of the widget has numbers of its own."""
    ann = widget.Annotator(session(tmp_path, n=14), root=tmp_path)
    ann.comm = wire = Wire()
    for i in range(10):
        _custom(ann, {"action": "choose", "label": LABELS[i % 3], "seq": i + 1, "page": "p1"})
    assert [ann.session.answers[f"t{i}"].labels for i in range(10)] == [(LABELS[i % 3],) for i in range(10)]
    assert ann.session.position == 10 and ann.view["acked"] == {"p1": 10} and len(wire.sent) == 10
    journal = ann.session.journal.read_bytes()
    for i in range(10):  # all ten again (their acknowledgements were late): none applied twice
        _custom(ann, {"action": "choose", "label": "neutral", "seq": i + 1, "page": "p1"})
    assert ann.session.position == 10 and ann.session.journal.read_bytes() == journal
    assert len(wire.sent) == 20  # each acknowledged again (the view, with acked 10)
    _custom(ann, {"action": "skip", "seq": 12, "page": "p1"})  # 11 lost on the way: 12 waits
    assert ann.session.position == 10 and ann.view["acked"] == {"p1": 10} and len(wire.sent) == 20
    _custom(ann, {"action": "choose", "label": "positive", "seq": 11, "page": "p1"})
    _custom(ann, {"action": "skip", "seq": 12, "page": "p1"})  # the page sends 11 and 12 again
    assert ann.session.answers["t10"].labels == ("positive",) and ann.session.answers["t11"].skipped
    _custom(ann, {"action": "back", "seq": 1, "page": "p2"})  # the cell shown twice: the other view's first
    assert ann.session.position == 11 and ann.view["acked"] == {"p1": 12, "p2": 1}
    _custom(ann, {"action": "choose", "label": "nope", "seq": 2, "page": "p2"})  # refused: acknowledged, shown
    _custom(ann, {"action": "dance", "seq": 3, "page": "p2"})  # not a command: acknowledged, nothing done
    assert "unknown label 'nope'" in ann.view["error"] and ann.view["acked"] == {"p1": 12, "p2": 3}
    for bad in [{"action": "skip", "seq": "4", "page": "p2"}, {"action": "skip", "page": "p2"}, ["skip"]]:
        _custom(ann, bad)  # no seq as a number, or not a command at all: nothing done
    assert ann.session.position == 11 and len(ann.session.answers) == 12
    ann.command = {"action": "skip", "seq": 1}  # a model without custom messages: the trait, every change
    assert ann.session.answers["t11"].skipped and ann.session.position == 12


def test_an_image_task_naming_a_file_that_is_no_image_does_not_inline_it(tmp_path):
    """Task data naming a secret file (an absolute path, or '..' out of the root) put the file, base64, in
    the widget's state (a saved notebook keeps it): only files named as images are inlined."""
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = s3cr3t")
    root = tmp_path / "repo"
    root.mkdir()
    items = [str(secret), "../credentials", "~/.ssh/id_rsa"]
    tasks = [Task(f"i{i}", {"image": p}, "image", "image") for i, p in enumerate(items)]
    ann = widget.Annotator(Session(tasks, ["cat", "dog"], "a", "label", "image"), root=root)
    for value in items:
        assert ann.view["task"]["src"] is None and ann.view["task"]["value"] == value
        ann.skip()


def test_annotate_texts_and_a_folder_of_images_without_a_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["great", "awful", "meh"], labels=["pos", "neg"], annotator="a@b.c")
    assert ann.session.total == 3 and ann.session.tasks[0].data == {"text": "great"}
    assert ann.session.journal.parent == tmp_path / ".annover-notebook"
    ann.choose("pos")
    again = widget.annotate(["great", "awful", "meh"], labels=["pos", "neg"], annotator="a@b.c")
    assert again.session.position == 1 and again.session.tasks[0].key in again.session.answers
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "sub/c.webp", "notes.txt"):
        (tmp_path / "imgs" / name).write_bytes(b"x")
    imgs = widget.annotate(tmp_path / "imgs", labels=["cat", "dog"], annotator="a@b.c", multiple=True)
    assert [t.value for t in imgs.session.tasks] == ["imgs/a.jpg", "imgs/b.png", "imgs/sub/c.webp"]
    assert imgs.session.tasks[0].kind == "image" and imgs.session.multiple
    rows = widget.annotate([{"id": 7, "text": "hello"}], labels=["x", "y"], annotator="a@b.c", key="data.id")
    assert rows.session.tasks[0].key == "7"
    paths = widget.annotate([{"path": "imgs/a.jpg", "n": 1}], labels=["x"], annotator="a@b.c", column="path")
    t = paths.session.tasks[0]
    assert (t.kind, t.field, t.data) == ("image", "image", {"image": "imgs/a.jpg", "n": 1})  # the made config's $image
    numbers = widget.annotate(["a", "b"], labels=[1, 2], annotator="a@b.c")  # labels are text, as in Label Studio
    assert numbers.session.labels == ["1", "2"]
    numbers.choose(1)
    assert numbers.session.answers[numbers.session.tasks[0].key].labels == ("1",)
    missing = widget.annotate(_frame({"text": ["x", "y"], "n": [1.0, float("nan")]}), labels=["q"], annotator="a@b.c")
    assert [t.data for t in missing.session.tasks] == [{"text": "x", "n": 1.0}, {"text": "y", "n": None}]
    with pytest.raises(UsageError, match="no tasks to label"):
        widget.annotate([], labels=["x"])
    with pytest.raises(UsageError, match="not a folder"):
        widget.annotate(tmp_path / "nowhere", labels=["x"])
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("not an image")
    with pytest.raises(UsageError) as e:  # a list of texts with a missing one (a DataFrame column's NaN): which
        widget.annotate(["fine", float("nan")], labels=["x"])
    assert str(e.value) == ("tasks must be texts, paths or URLs: item 1 is nan (a float) — give strings (drop the "
                            "missing ones, str() the numbers), or records with column=")
    with pytest.raises(UsageError) as e:  # records: which one lacks the field shown
        widget.annotate([{"text": "a"}, {"body": "b", "id": 2}], labels=["x"])
    assert str(e.value) == ("record 1 has no field 'text' (its fields: body, id) — name the field to show with "
                            "column=, one every record has")
    with pytest.raises(UsageError) as e:  # which folder, and what an image is: not "no tasks to label"
        widget.annotate(tmp_path / "notes", labels=["x"])
    assert str(e.value) == (f"{tmp_path / 'notes'}: no image files in this folder or below it — images are files "
                            "named .jpg, .jpeg, .png, .gif, .webp, .bmp, .svg, .tif, .tiff (in any case)")


def test_task_data_that_is_not_text_is_shown_as_its_json(tmp_path, monkeypatch):
    """A dialogue (Label Studio's Paragraphs: a list of messages) was shown as Python's repr of it
    ([{'content': ..., 'role': 'user'}], None for null); it is shown as the JSON it is, indented."""
    monkeypatch.chdir(tmp_path)
    dialogue = [{"role": "user", "content": "Hi, is it in stock?"}, {"role": "assistant", "content": "Yes — «noir»"}]
    ann = widget.annotate([{"messages": dialogue}, {"messages": None}], labels=["ok", "bad"], annotator="a@b.c",
                          column="messages")
    assert ann.session.tasks[0].data == {"text": dialogue}  # a list still (under the made config's $text)
    shown = ann.view["task"]["value"]
    assert json.loads(shown) == dialogue and '\n  "content": "Yes — «noir»"' in shown
    ann.forward()
    assert ann.view["task"]["value"] == "null"
    np = pytest.importorskip("numpy")  # a DataFrame's list column holds numpy arrays
    tokens = widget.annotate(_frame({"text": ["a b"], "tokens": [np.array(["a", "b"])]}), labels=["q"],
                             annotator="a@b.c")
    assert tokens.session.tasks[0].data == {"text": "a b", "tokens": ["a", "b"]}


def _frame(columns: dict):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(columns)
