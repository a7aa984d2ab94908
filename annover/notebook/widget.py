"""The notebook widget: a thin anywidget view over a :class:`~annover.notebook.session.Session`.

Python renders the session into the ``view`` trait; the front end (``static/annotator.js``)
draws it and sends each click or key back as a command (a custom message numbered by the page;
the ``command`` trait from a model without custom messages), which Python applies to the
session. ``annotate(...)`` is the entry point (``annover.annotate``).
"""

from __future__ import annotations

import base64
import heapq
import json
import mimetypes
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from annover.errors import AnnoverError, UsageError
from annover.files import dvc_cache_object
from annover.notebook import answers as answers_
from annover.notebook import sources
from annover.notebook.session import IMAGE, JOURNAL_SCHEMA, Answer, Session, session_id
from annover.repo import Repo
from annover.repo.samples import find_sample
from annover.store.git import run_git
from annover.store.refs import check_no_links

try:
    import anywidget
    import traitlets
except ImportError as e:  # pragma: no cover - the extra is missing
    raise UsageError(f"the notebook annotator needs anywidget ({e.name} is not installed)",
                     "pip install 'annover[notebook]'") from None

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Annotator", "annotate", "conversation", "default_annotator", "image_file", "image_view", "shortcut_keys"]

STATIC = Path(__file__).resolve().parent / "static"
#: keys the front end uses for skip (s) and undo (u): never a label's
RESERVED_KEYS = frozenset("su")
#: local images larger than this are not inlined (shown as a placeholder naming the file)
MAX_INLINE_BYTES = 20 * 1024 * 1024
#: pages whose last applied command the widget remembers (views of it: the cell shown again, a reload)
MAX_PAGES = 32
#: texts of a session the page measures for its text box's height (``tall``): this many of the longest
#: and this many of the most lines, each cut at TALL_CHARS (more than the tallest box shows at any width)
TALL = 3
TALL_CHARS = 2000


def shortcut_keys(n: int) -> list[str]:
    """The keys of ``n`` label buttons: 1-9, then letters (not those of skip and undo)."""
    keys = [str(i) for i in range(1, 10)] + [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in RESERVED_KEYS]
    return keys[:n] + [""] * max(n - len(keys), 0)


def default_annotator(cwd: Path | None = None) -> str:
    """Who answers: git's user.email (else GIT_AUTHOR_EMAIL, else the login name)."""
    email = run_git(["config", "user.email"], Path(cwd or Path.cwd()), check=False).decode().strip()
    if email:
        return email
    try:
        return os.environ.get("GIT_AUTHOR_EMAIL") or os.getlogin()
    except OSError:
        return os.environ.get("USER", "-")


def image_source(value: Any, root: Path) -> str | None:
    """What an ``<img>`` shows for a task's image: a URL as it is, a local image file inlined as a
    data URL; None when the file is not there or not named as an image (the view shows the path
    instead): task data naming ``~/.aws/credentials`` must not put that file in the widget's state,
    which a saved notebook keeps."""
    return image_view(value, root)[0]


def image_view(value: Any, root: Path) -> tuple[str | None, str | None]:
    """(what an ``<img>`` shows, None) for a task's image, or (None, why it is not shown): the
    placeholder says which (not there, too large to inline, not named as an image, unreadable)."""
    src, path, missing = image_file(value, root)
    if path is None:
        return src, missing
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, f"image cannot be read ({e.strerror or e}): {value}"
    return f"data:{_mime(path)};base64,{base64.b64encode(data).decode()}", None


def image_file(value: Any, root: Path) -> tuple[str | None, Path | None, str | None]:
    """A task's image without reading it: (a URL the browser fetches, None, None), (None, a local
    image file to inline, None), or (None, None, why it is not shown)."""
    if value is None or (isinstance(value, str) and not value.strip()):  # not "not an image file (by its name): "
        return None, None, "no image: this task's data has none (its image field is empty or missing)"
    s = str(value)
    if s.startswith(("http://", "https://", "data:")):
        return s, None, None
    if re.match(r"[a-z][a-z0-9+.-]*://", s):  # s3://, gs://, azure-blob://: Label Studio's cloud storage
        return None, None, f"a {s.split(':', 1)[0]}:// image cannot be shown here (the browser cannot fetch it): {s}"
    p = Path(s).expanduser()
    p = p if p.is_absolute() else root / p
    if not _mime(p).startswith("image/"):
        return None, None, f"not an image file (by its name): {s}"
    real = os.path.realpath(p)  # a link named cat.png may lead to ~/.aws/credentials (DVC's cache: md5 names)
    if not _mime(Path(real)).startswith("image/") and not dvc_cache_object(real):
        return None, None, f"not an image file (by the name of the file it links to): {s}"
    try:
        if not p.is_file():
            return None, None, f"image not found: {s}"
        size = p.stat().st_size
    except OSError as e:
        return None, None, f"image cannot be read ({e.strerror or e}): {s}"
    if size > MAX_INLINE_BYTES:
        return None, None, (f"image too large to show ({size / 2**20:.1f} MB; the widget shows files up to "
                            f"{MAX_INLINE_BYTES // 2**20} MB): {s}")
    return None, p, None


def _mime(p: Path) -> str:
    return mimetypes.guess_type(p.name)[0] or ""


def _view_json(view: dict, widget: Any) -> dict:
    """The view as it goes over the comm: an image the page asked for as its bytes (a binary
    buffer) instead of the base64 text the Python side keeps (a third larger)."""
    image = view.get("image") if isinstance(view, dict) else None
    if not image or not str(image.get("src") or "").startswith("data:"):
        return view
    head, _, b64 = image["src"].partition(",")
    data = {"key": image["key"], "mime": head[5:].split(";")[0], "data": memoryview(base64.b64decode(b64))}
    return {**view, "image": data}


class Annotator(anywidget.AnyWidget):
    """Label tasks in a notebook; ``.save(message=...)`` makes a version of the answers."""

    _esm = STATIC / "annotator.js"
    _css = STATIC / "annotator.css"
    view = traitlets.Dict().tag(sync=True, to_json=_view_json)
    #: the session's likely tallest texts (:func:`tall_texts`), set once: every text task's box is as tall
    tall = traitlets.List().tag(sync=True)
    command = traitlets.Dict().tag(sync=True)

    def __init__(self, session: Session, *, repo: Repo | None = None, config_text: str | None = None,
                 key: str | None = None, root: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.repo = repo
        self.config_text = config_text
        self.key = key
        self.root = Path(root or (repo.root if repo else Path.cwd()))
        self.result: answers_.SaveResult | None = None
        self._keys = dict(zip(session.labels, shortcut_keys(len(session.labels))))
        self._error: str | None = None
        #: what the person should know, not an error (a label the config gets): shown until the first action
        self._notice: str | None = None
        #: the task whose toggled, unanswered labels a move was held for (once: the next move goes)
        self._warned: str | None = None
        #: the image the page asked for (key, data URL or why not), in the next view only
        self._reply: dict | None = None
        self._tasks = {t.key: t for t in session.tasks}
        #: per page, the seq of the last command applied (in the view as ``acked``: the page sends the rest again)
        self._acked: dict[str, int] = {}
        self.tall = tall_texts(session.tasks)
        self.observe(self._on_command, names="command")
        self.on_msg(self._on_message)
        self.refresh()

    # ------------------------------------------------------------------ the session's handles

    def choose(self, label: str) -> None:
        self._do(self.session.choose, label)

    def answer(self, labels: Sequence[str]) -> None:
        self._do(self.session.answer, labels)

    def submit(self) -> None:
        self._do(self.session.submit)

    def skip(self) -> None:
        self._do(self.session.skip)

    def back(self) -> None:
        self._do(self.session.back)

    def forward(self) -> None:
        self._do(self.session.forward)

    def goto(self, index: int) -> None:
        self._do(self.session.goto, index)

    def undo(self) -> bool:
        return bool(self._do(self.session.undo))

    @property
    def progress(self) -> dict[str, int]:
        return self.session.progress()

    @property
    def answers(self) -> "pa.Table":
        """The answers given so far (one row per task), as an Arrow table."""
        return answers_.answers_table(self.session)

    def save(self, message: str = "", *, tag: str | None = None) -> answers_.SaveResult:
        """A new version: the repository's HEAD plus these answers (see :func:`annover.notebook.answers.save`)."""
        repo = self.repo or Repo(".")
        self.result = answers_.save(self.session, repo, self.config_text, message=message, tag=tag, key=self.key)
        self.refresh()
        return self.result

    # ------------------------------------------------------------------ the view

    def _do(self, fn: Any, *args: Any) -> Any:
        self._error = self._notice = None
        try:
            return fn(*args)
        finally:
            self.refresh()

    def _on_command(self, change: dict) -> None:
        """The ``command`` trait, set by a page whose model has no custom messages: each change is one."""
        cmd = change["new"] or {}
        if cmd.get("action") == "image":  # such a page asks for an image so too
            self._send_image(cmd.get("key"))
        else:
            self._command(cmd)

    def _command(self, cmd: dict) -> None:
        """A command from the page. One naming its page is applied once and in the page's order:
        the next of its seq is applied, one applied before (sent again: its acknowledgement was
        late) only acknowledged again, one past a gap waits for the page to send the gap again."""
        page, seq = cmd.get("page"), cmd.get("seq")
        if page is not None:
            page, last = str(page), self._acked.get(str(page), 0)
            if type(seq) is not int or seq > last + 1:
                return
            if seq <= last:
                self.send_state("view")  # the view, with its acked, again: the page stops sending it
                return
            self._acked.pop(page, None)
            self._acked[page] = seq  # before applying: the view it makes acknowledges it
            while len(self._acked) > MAX_PAGES:
                del self._acked[next(iter(self._acked))]
        self._apply(cmd)

    def _apply(self, cmd: dict) -> None:
        actions = {"choose": lambda: self.session.choose(str(cmd.get("label"))), "submit": self.session.submit,
                   "skip": self.session.skip, "back": self.session.back, "forward": self.session.forward,
                   "undo": self.session.undo, "goto": lambda: self.session.goto(_index(cmd.get("index", 0)))}
        action = cmd.get("action")
        if action == "save":
            if not self._leaves_choice("save again to save without them"):
                self._save_from_page()
            return
        fn = actions.get(action) if isinstance(action, str) else None
        if fn is None:  # not one of ours: nothing done (the view acknowledges a page's all the same)
            self.refresh()
            return
        if action in ("back", "forward", "goto") and self._leaves_choice("move again to leave it without them"):
            return
        self._warned = None
        try:
            fn()
            self._error = self._notice = None
        except AnnoverError as e:  # a click the session refuses: shown in the widget, not raised into the void
            self._error = str(e)
        finally:  # whatever happened, the page shows the session as it is (never one task while on another)
            self.refresh()

    def _save_from_page(self) -> None:
        """The page's save button: the version ``save()`` makes, for a page with no cell to call it from
        (Voilà). What came of it is in the widget: the version on the status line; nothing new, or why
        there is no version (no repository, a full disk), under the task, the answers kept in the journal."""
        self._warned = None
        try:
            res = self.save(message=f"labeled in the notebook by {self.session.annotator}")
            where = self.session.saved_name or "the latest version"
            self._error = None if res.version is not None else f"nothing new to save: every answer is in {where}"
        except AnnoverError as e:
            self._error = str(e)
        except Exception as e:  # not annover's (a bug, a library's): said in the widget, the traceback in the log
            self.log.exception("annover: the save button's save failed")
            said = (str(e).strip().splitlines() or [""])[0]
            self._error = (f"save failed: {type(e).__name__}{': ' + said if said else ''} — the answers are kept in "
                           "the journal (the traceback is in the kernel's log)")
        finally:
            self.refresh()

    def _leaves_choice(self, again: str) -> bool:
        """Multi-label: a move from the page away from labels toggled and not answered (Enter answers
        them), or a save (which keeps answers only), is held once, the widget saying so (``again``: what
        the same click does): they were dropped without a word. The same move again leaves the task
        without them."""
        s = self.session
        task = s.current
        if not self._pending():
            return False
        if self._warned == task.key:
            return False
        self._warned = task.key
        chosen = ", ".join(f"\u2068{lab}\u2069" for lab in s.selection)  # isolated: right-to-left ones keep their order
        self._error = f"{chosen} chosen, not answered — press Enter to answer the task, or {again}"
        self.refresh()
        return True

    def _pending(self) -> list[str] | None:
        """Multi-label: the labels toggled and not answered yet (the selection differs from what the
        task starts with: its answer, else the earlier answer or the model's): what Enter answers
        with, ``[]`` when every label was toggled off. None when nothing is pending."""
        s = self.session
        if not s.multiple or s.current is None or set(s.selection) == set(s.preselected()):
            return None
        return list(s.selection)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A custom message from the page: ``{"action": "image", "key": ...}`` asks for a task's image,
        any other is a command (``{"action", "seq", "page", ...}``)."""
        if not isinstance(content, dict):
            return
        if content.get("action") == "image":
            self._send_image(content.get("key"))
        else:
            self._command(content)

    def _send_image(self, key: Any) -> None:
        """The page has not got this task's image: it goes once, in the next view only."""
        self._reply = self._image_reply(str(key))
        try:
            self.refresh()
        finally:
            self._reply = None

    def _task_view(self) -> dict | None:
        s = self.session
        task = s.current
        if task is None:
            return None
        out: dict[str, Any] = {"key": task.key, "kind": task.kind, "index": s.position, "value": task.value}
        if task.kind == IMAGE:  # a local file is not read here: the page asks for it once (``image``)
            src, path, out["missing"] = image_file(task.value, self.root)
            out["src"], out["load"] = src, task.key if path is not None else None
        else:
            out.update(text_view(task.value))
        out["prediction"] = task.prediction.to_json() if task.prediction else None
        ans = s.answers.get(task.key)
        out["answer"] = {"labels": list(ans.labels), "skipped": ans.skipped} if ans else None
        out["earlier"] = task.earlier.to_json() if task.earlier else None  # an answer replaces it
        out["others"] = [{"annotator": who, "labels": list(labels)} for who, labels in task.others]
        return out

    def _first_open(self) -> int | None:
        """Past the last task, the index of the first task not answered (nor skipped): the page goes
        there with → (only then: a look at every task on each click would be slow for long sessions)."""
        s = self.session
        if s.current is not None:
            return None
        return next((i for i, t in enumerate(s.tasks) if t.key not in s.answers), None)

    def _next_image(self) -> str | None:
        """The next task's key when it is a local image: the page fetches it ahead, while this one is labeled."""
        s = self.session
        nxt = s.tasks[s.position + 1] if s.position + 1 < s.total else None
        if nxt is None or nxt.kind != IMAGE:
            return None
        return nxt.key if image_file(nxt.value, self.root)[1] is not None else None

    def _image_reply(self, key: str) -> dict:
        """The image of task ``key`` (of this session only: the page names a task, never a file)."""
        task = self._tasks.get(key)
        if task is None or task.kind != IMAGE:
            return {"key": key, "src": None, "missing": f"no image task {key!r}"}
        src, missing = image_view(task.value, self.root)
        return {"key": key, "src": src, "missing": missing}

    def _saved_view(self) -> dict:
        """Where the answers are: the journal (safe from a dying kernel) and, after a save, a version."""
        s = self.session
        unsaved = s.unsaved()
        if s.journal is None:
            return {"ok": False, "text": "no journal: answers are in memory only"}
        if s.saved_version and not unsaved:
            return {"ok": True, "text": f"✓ saved as {s.saved_name}"}
        if not unsaved:
            return {"ok": True, "text": "journal ready"}
        return {"ok": True, "text": f"✓ in the journal · {unsaved} not in a version yet"}

    def refresh(self) -> None:
        """Render the session into ``view`` (the front end redraws on change)."""
        s = self.session
        self.view = {
            "task": self._task_view(), "progress": s.progress(), "annotator": s.annotator,
            "multiple": s.multiple, "saved": self._saved_view(), "error": self._error, "notice": self._notice,
            "next": self._next_image(), "image": self._reply, "acked": dict(self._acked), "open": self._first_open(),
            "pending": self._pending(),
            "labels": [{"name": lab, "key": self._keys[lab], "selected": lab in s.selection} for lab in s.labels],
        }


def text_view(value: Any) -> dict[str, Any]:
    """A text task's data as the page draws it: ``value`` the text (data that is not text as its JSON),
    ``messages`` a chat's messages (drawn as one; its JSON is kept in ``value``), else None."""
    return {"value": value if isinstance(value, str) else _as_text(value), "messages": conversation(value)}


def tall_texts(tasks: Sequence[Any]) -> list[dict[str, Any]]:
    """The text tasks the page measures to give every text task one box height (``{"value", "messages"}``,
    cut at TALL_CHARS): the TALL longest and the TALL of most lines (a chat's message counts two lines more),
    which of them is tallest depends on the width, which only the page knows."""
    sizes = []
    for i, task in enumerate(tasks):
        if task.kind == IMAGE:
            continue
        shown = text_view(task.value)
        texts = [m["text"] for m in shown["messages"]] if shown["messages"] else [shown["value"]]
        lines = sum(t.count("\n") + 1 for t in texts) + (2 * len(texts) if shown["messages"] else 0)
        sizes.append((sum(map(len, texts)), lines, i))
    chosen = {s[2] for s in heapq.nlargest(TALL, sizes, key=lambda s: (s[0], -s[2]))}
    chosen.update(s[2] for s in heapq.nlargest(TALL, sizes, key=lambda s: (s[1], s[0], -s[2])))
    return [_cut(text_view(tasks[i].value)) for i in sorted(chosen)]


def _cut(shown: dict[str, Any]) -> dict[str, Any]:
    """A text (a chat's messages) cut at TALL_CHARS in all: enough to fill the tallest box."""
    if not shown["messages"]:
        return {"value": shown["value"][:TALL_CHARS], "messages": None}
    kept, left = [], TALL_CHARS
    for m in shown["messages"]:
        if left <= 0:
            break
        kept.append({"who": m["who"], "text": m["text"][:left]})
        left -= len(m["text"])
    return {"value": "", "messages": kept}


def _as_text(value: Any) -> str:
    """Task data that is not text (a record's list or dict, a number, null; a chat too, which the page
    draws from :func:`conversation`) as the JSON it is, indented, not as Python's repr of it
    (``[{'role': 'user', ...}]``, ``None``)."""
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


#: a chat message's speaker and its text: LLM chats' role/content, Label Studio Paragraphs' author/text
SPEAKER_KEYS = ("role", "author", "name", "speaker")
MESSAGE_KEYS = ("content", "text")


def conversation(value: Any) -> list[dict[str, str]] | None:
    """Task data that is a list of messages (each a dict with its speaker under one of SPEAKER_KEYS
    and its text under one of MESSAGE_KEYS) as ``[{"who", "text"}]``, which the page draws as a
    conversation (as text: markup in a message is shown, never run); None for anything else (its JSON)."""
    if not isinstance(value, list) or not value:
        return None
    out = []
    for m in value:
        who = next((m[k] for k in SPEAKER_KEYS if isinstance(m.get(k), str)), None) if isinstance(m, dict) else None
        said = next((k for k in MESSAGE_KEYS if k in m), None) if who is not None else None
        if said is None:
            return None
        out.append({"who": who, "text": _message_text(m[said])})
    return out


def _message_text(value: Any) -> str:
    """A message's content as text: a string as it is, an LLM's list of parts ``[{"type": "text",
    "text": ...}]`` as their texts, one a line, anything else as its JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(p, dict) and isinstance(p.get("text"), str)
                                                 for p in value):
        return "\n".join(p["text"] for p in value)
    return "" if value is None else _as_text(value)


def _index(value: Any) -> int:
    """A task index sent by the page (a number, or text of one)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinity (JSON's Infinity)
        raise UsageError(f"task index {value!r} is not a number", "go to a task by its number") from None


def _journal_path(journal: str | Path | None, repo: Repo | None, session_key: str) -> Path:
    if journal is not None:
        return Path(journal)
    if repo is not None:  # a link a clone holds (.annover/logs/notebook) would take the answers elsewhere
        check_no_links(repo.dir)
    base = repo.dir / "logs" / "notebook" if repo is not None else Path.cwd() / ".annover-notebook"
    return base / f"{session_key}.json"


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)[:40]


def annotate(source: "Repo | str | Path | Iterable[Any]", rev: str | None = None, *,
             labels: Sequence[str] | None = None, only: str | Sequence[str] | None = None,
             control: str | None = None, model_version: str | None = None, multiple: bool = False,
             kind: str | None = None, column: str | None = None, key: str | None = None,
             annotator: str | None = None, journal: str | Path | None = None, repo: Repo | None = None,
             clock: Any = None, sample: str | None = None) -> Annotator:
    """A notebook annotator over a version's tasks or over new ones.

    - ``annotate(repo, "v3", only="unlabeled")``: tasks of a version (all, ``"unlabeled"`` or
      ``"disagreement"`` on the control, or a list of task keys), labels from its config's
      Choices control (``control=`` picks one; ``labels=`` a subset), predictions pre-selected.
    - ``annotate(repo, sample="3f9c2a1b7d04")``: the tasks a sample chose (``annover sample``:
      its id, record file, or a file of task keys with ``rev=``), from its version, with the
      predictions of the model it was drawn with unless ``model_version=`` says another.
    - ``annotate(["text", ...], labels=[...])``, a DataFrame or records (``column=`` the field
      shown), image paths or URLs, or a folder of images (``kind=`` "text" or "image" when it
      cannot be told): new tasks; ``repo=`` the repository ``save`` adds them to (default:
      the current folder's), whose HEAD config, if any, gives the labels.

    Answers go to ``journal`` (default: in the repository's ``.annover/logs/notebook/``, else
    ``./.annover-notebook/``) as they are given; the same call again resumes the session.
    """
    if labels is not None and not isinstance(labels, str):
        labels = [str(lab) for lab in labels]  # Label Studio's choices are text: labels=[1, 2] too
    if isinstance(source, Repo) and sample is not None:
        if only is not None:
            raise UsageError("sample= and only= both choose the tasks", "give one of them")
        chosen = find_sample(source, sample, rev=rev)
        rev, only, model_version = chosen.version, chosen.keys, model_version or chosen.model
    if isinstance(source, Repo):
        repo = source
        who = annotator or default_annotator(repo.root)
        plan = sources.from_version(repo, rev or "HEAD", only, labels, control, model_version, who)
        root = repo.root
    else:
        if rev is not None or only is not None or sample is not None:
            raise UsageError("rev=, only= and sample= select tasks of a version",
                             "pass the Repo first: annotate(repo, 'v3')")
        if repo is None:
            try:
                repo = Repo(".")
            except AnnoverError:
                repo = None
        root = repo.root if repo is not None else Path.cwd()
        head = repo.head() if repo is not None else None
        base_cfg = None
        if head is not None and repo is not None and repo.show(head).config_ref:
            base_cfg = (repo.config_text(head), head)
        plan = sources.from_items(source, labels, kind=kind, column=column, key=key, multiple=multiple,
                                  root=root, base_config=base_cfg)
        # the tasks HEAD has: the person's answers there, as a version's tasks show them
        plan = sources.with_earlier(plan, repo, head, annotator or default_annotator(root))
    who = annotator or default_annotator(root)  # the same as above
    kwargs = {"clock": clock} if clock is not None else {}
    sid = session_id([t.key for t in plan.tasks], plan.labels, plan.from_name, who, plan.multiple)
    path = _journal_path(journal, repo, f"{_safe(who)}-{sid}")
    fresh = journal is None and not path.exists()
    session = Session(plan.tasks, plan.labels, who, plan.from_name, plan.to_name, plan.multiple, path, plan.base,
                      **kwargs)
    ann = Annotator(session, repo=repo, config_text=plan.config_text, key=plan.key, root=root)
    _first_words(ann, plan, session.carry_over(unsaved_answers(session)) if fresh else 0)
    return ann


def _first_words(ann: Annotator, plan: sources.Plan, carried: int) -> None:
    """What the widget says as it opens: answers carried over from an earlier session (which a save
    adds), labels new to the config's control (a class added mid-way: a notice, not an error)."""
    if carried:
        ann._error = (f"{carried} answer{'s' if carried > 1 else ''} of yours on these tasks carried over from "
                      "an earlier session (other tasks or labels), not in a version yet")
    if plan.added:
        many = len(plan.added) > 1
        ann._notice = (f"label{'s' if many else ''} {', '.join(plan.added)} new to control {plan.from_name!r}: "
                       f"the version a save makes adds {'them' if many else 'it'} to its labeling config")
    if carried or plan.added:
        ann.refresh()


def unsaved_answers(session: Session) -> dict[str, Answer]:
    """The answers on ``session``'s tasks in the person's other journals (next to its own: the same
    annotator, control and kind of choice, labels it has) that no save put in a version, the latest per task."""
    found: dict[str, Answer] = {}
    path = session.journal
    if path is None or not path.parent.is_dir():
        return found
    for other in sorted(path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.json")):
        try:
            doc = json.loads(other.read_text(encoding="utf-8"))
            if other == path or not _same_kind(doc, session):
                continue
            saved_at = doc.get("saved_at") or {}
            for k, a in (doc.get("answers") or {}).items():
                ans = Answer.from_json(a)
                if saved_at.get(k) != ans.updated_at and set(ans.labels) <= set(session.labels) and (
                        k not in found or found[k].updated_at < ans.updated_at):
                    found[k] = ans
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # not a journal this session can read: left as it is
    return found


def _same_kind(doc: Any, session: Session) -> bool:
    return isinstance(doc, dict) and doc.get("schema") == JOURNAL_SCHEMA and doc.get("annotator") == session.annotator \
        and doc.get("from_name") == session.from_name and bool(doc.get("multiple")) == session.multiple
