"""The ``annover`` command line: each command is one :class:`annover.repo.Repo` call plus rendering.

Commands load lazily (a command's module is imported when it runs), so ``annover --help``
starts fast. Data goes to stdout, messages and progress to stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import signal
import sys
import time
import unicodedata
import warnings
from typing import TYPE_CHECKING, Any

import click

from annover._lazy import lazy
from annover.errors import (AmbiguousRevisionWarning, AnnoverError, InterruptedPartway, NotARepoError, NotFoundError,
                            NotWritableError)

if TYPE_CHECKING:  # pragma: no cover
    import difflib
    import pyarrow as pa
    import rich.console as rich_console
    import rich.progress as rich_progress

    from annover import files as files_, repo as repo_
    from annover.store import duck, refs as refs_
else:
    difflib = lazy("difflib")  # for a mistyped command's suggestion only
    files_ = lazy("annover.files")  # for a refused write's line only: not for `annover --help`
    refs_ = lazy("annover.store.refs")
    pa = lazy("pyarrow")
    repo_ = lazy("annover.repo")  # not for `annover --help`
    duck = lazy("annover.store.duck")
    rich_console = lazy("rich.console")
    rich_progress = lazy("rich.progress")

# name -> (module:attribute, one-line help shown by `annover --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("annover.cli.snapshot:init", "Make a folder an annover repository (git + DVC)."),
    "snapshot": ("annover.cli.snapshot:snapshot", "Record a new version from an export or Label Studio."),
    "log": ("annover.cli.history:log", "List versions, newest first."),
    "show": ("annover.cli.history:show", "Show one version: record, links, stats."),
    "diff": ("annover.cli.diff_cmd:diff", "What changed between two versions."),
    "tag": ("annover.cli.history:tag", "Name a version."),
    "revert": ("annover.cli.history:revert", "Undo HEAD (or restore a version) with a new version."),
    "reset": ("annover.cli.history:reset", "Move HEAD back, dropping versions not pushed yet."),
    "merge": ("annover.cli.merge_cmd:merge", "Merge another branch's versions into HEAD's, task by task."),
    "status": ("annover.cli.remote:status", "HEAD, and whether its objects are pushed."),
    "export": ("annover.cli.export:export", "Write a version: COCO, YOLO, VOC, CoNLL, HF, Parquet, CSV, JSON."),
    "push": ("annover.cli.remote:push", "Upload the objects a version needs to the DVC remote."),
    "pull": ("annover.cli.remote:pull", "Download the objects a version needs from the DVC remote."),
    "gc": ("annover.cli.gc_cmd:gc", "Remove from the local DVC cache what no version or tag needs."),
    "dataset": ("annover.cli.dataset_cmd:dataset", "Label Studio projects: list, create, stats, push tasks."),
    "config": ("annover.cli.config_cmd:config", "Labeling configs: list templates, generate, validate."),
    "agreement": ("annover.cli.loop_cmd:agreement", "Agreement between annotators, per control and label."),
    "eval": ("annover.cli.loop_cmd:eval_", "A model's predictions against the labels."),
    "suspects": ("annover.cli.loop_cmd:suspects", "Labels worth a second look, ranked, with reasons."),
    "sample": ("annover.cli.loop_cmd:sample", "Pick tasks to label next (uncertainty, disagreement...)."),
    "report": ("annover.cli.loop_cmd:report", "A self-contained HTML report of a version or range."),
}


#: git and DVC commands a user types, and what does their job in annover
GIT_WORDS = {"commit": "a version is recorded by `annover snapshot`",
             "add": "a version is recorded by `annover snapshot`",
             "fetch": "`annover pull` fetches", "restore": "`annover revert --to REV` restores a version",
             "checkout": "`git checkout REV && dvc pull` checks a version out; `annover export REV` writes it",
             "switch": "branches are git's: `git switch BRANCH && dvc pull`; `annover log --all --graph` shows them",
             "branch": "branches are git's (`git branch NAME`); `annover log --all --graph` shows their versions",
             "blame": "`annover log --task KEY -p` says which versions changed a task, and how",
             "help": "`annover --help` lists the commands, `annover COMMAND -h` shows one"}


class Interrupted(Exception):
    """A Ctrl-C carried past click: click words a KeyboardInterrupt as a blank line and
    ``Aborted.``, two lines where annover's own handlers say one, ``Interrupted.``."""


class LazyGroup(click.Group):
    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Parsing ``annover``'s own options, ``--help`` and ``--version`` pages included."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt as e:
            raise Interrupted from e

    def invoke(self, ctx: click.Context) -> Any:
        """The command: loading its module, parsing its options (its ``--help``), running it."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise Interrupted from e

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in COMMANDS if _available(n)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _available(name):
            return None
        mod, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(mod), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """A command it does not have names the ones it meant (click's suggestions look in the
        commands loaded, none here), or annover's for a git or DVC word (``commit``)."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            raise click.UsageError(_no_such_command(name, self.list_commands(ctx)), ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _no_such_command(name: str, commands: list[str]) -> str:
    """The commands a typo meant (``stauts``: status), or annover's way to do a git word's job (``comit``)."""
    close = [] if name in GIT_WORDS else difflib.get_close_matches(name, commands)
    if close:
        return f"No such command {name!r}. Did you mean {' or '.join(map(repr, close))}?"
    word = next(iter(difflib.get_close_matches(name, GIT_WORDS, n=1)), None)
    return f"No such command {name!r}: {GIT_WORDS[word]}" if word else f"No such command {name!r}."


def _available(name: str) -> bool:
    mod = COMMANDS[name][0].split(":")[0]
    return importlib.util.find_spec(mod) is not None


#: Arrow's memory pool for an ``annover`` command (``ARROW_DEFAULT_MEMORY_POOL``), unless set.
ARROW_POOL = "system"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="""\b
Examples:
  annover init
  annover snapshot --from export.json --config labeling.xml -m "round 1"
  annover log
  annover diff v1 v2
  annover push

Exit codes are listed in the README; `annover COMMAND --help` shows each command.""")
@click.version_option(package_name="annover", message="annover %(version)s")
def main() -> None:
    """annover: version control for labeled data (git + DVC + Label Studio)."""


def run(argv: list[str] | None = None) -> int:
    """Entry point: one handler turns AnnoverError into `Error: ... — hint` and its exit code; the
    library's warnings to a user (:class:`AmbiguousRevisionWarning`) are one ``warning: ...`` line on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", AmbiguousRevisionWarning)
        shown = warnings.showwarning

        def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
            if issubclass(category, AmbiguousRevisionWarning):
                return info(f"warning: {message}")
            return shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    try:
        rv = main.main(args=argv, prog_name="annover", standalone_mode=False)
        return rv if isinstance(rv, int) else 0  # ctx.exit(n) returns n here
    except click.exceptions.Exit as e:
        return e.exit_code
    except _NO_ARGS_IS_HELP as e:  # `annover` or `annover dataset` alone: the help as it is, not squashed to a line
        click.echo(e.format_message(), err=True)
        return e.exit_code
    except click.UsageError as e:  # one line, like annover's own errors
        where = e.ctx.command_path if e.ctx is not None else "annover"
        message = " ".join(e.format_message().split())  # one line: click lists a choice's values a line each
        click.echo(safe(f"Error: {message} — see `{where} --help`"), err=True)
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:  # a question answered no; or Ctrl-C at it (on the question's line: end it)
        click.echo("\nInterrupted." if _SIGINT["seen"] else "Aborted.", err=True)
        return 130
    except AnnoverError as e:
        if os.environ.get("ANNOVER_DEBUG") and isinstance(e, NotWritableError):
            raise  # the traceback of the refused write (its OSError, the cause) for ANNOVER_DEBUG
        click.echo(safe(f"Error: {e}", lines=True), err=True)
        return e.exit_code
    except (KeyboardInterrupt, Interrupted) as e:
        partway = e if isinstance(e, InterruptedPartway) else e.__cause__
        said = f"Interrupted: {partway}" if isinstance(partway, InterruptedPartway) else "Interrupted."
        click.echo(safe(said), err=True)
        return 130
    except BrokenPipeError:  # the reader left: nothing more to write, and nothing at exit's flush either
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SystemExit as e:
        if type(sys.stdout).__name__ == "_PacifyFlushWrapper":  # click's answer to EPIPE: the reader left (`| head`)
            return 0
        raise
    except OSError as e:  # a write outside the repository lock (which tells its own as NotWritableError)
        if os.environ.get("ANNOVER_DEBUG") or e.errno not in files_.REFUSED:
            return _unexpected(e)
        click.echo(safe(f"Error: {refs_.not_writable(e)}"), err=True)
        return NOT_WRITABLE
    except Exception as e:  # a bug: say so, keep the traceback for ANNOVER_DEBUG
        if _SIGINT["seen"]:  # DuckDB turns a Ctrl-C during a query into its own error: the interruption's
            click.echo("Interrupted.", err=True)
            return 130
        return _unexpected(e)


#: whether the command was sent SIGINT (:func:`catch_interrupts`): an error after it is the
#: interruption's, not a bug (DuckDB ends a query Ctrl-C reaches with "Query interrupted", its
#: own error, and Arrow's scans with others)
_SIGINT = {"seen": False}


def _on_sigint(signum: int, frame: Any) -> None:
    if _SIGINT["seen"]:  # a second Ctrl-C while the first unwinds: it would cut the clean-up short
        return
    _SIGINT["seen"] = True
    if "annover.store.duck" in sys.modules:  # DuckDB's queries stop now, not at their end
        duck.interrupt()
    signal.default_int_handler(signum, frame)  # KeyboardInterrupt, as Python's own handler


def catch_interrupts() -> None:
    """The command's SIGINT handler: Python's (KeyboardInterrupt), remembering the signal came.
    Only the first Ctrl-C raises: later ones, while the command cleans up and exits 130, are
    ignored. A SIGINT the caller ignores (``nohup``, ``&``) stays ignored."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


#: click (8.2+) raises this for a group run without a command, its message the group's whole help
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())

#: the exit code of a repository that cannot be written (read-only, no permission, disk full)
NOT_WRITABLE = NotARepoError.exit_code


def _unexpected(e: Exception) -> int:
    """A bug: say so, keep the traceback for ANNOVER_DEBUG."""
    if os.environ.get("ANNOVER_DEBUG"):
        raise e
    click.echo(f"Error: unexpected {type(e).__name__}: {e} — this is a bug in annover; "
               "rerun with ANNOVER_DEBUG=1 for the traceback and report it", err=True)
    return 1


#: Optional modules a command never needs, that a library it uses imports when they are installed
UNWANTED = frozenset({
    # jsonschema's check of the 'iri' format, which no schema annover or label-studio-sdk checks uses;
    # installed with Jupyter (jsonschema[format-nongpl]), its import builds a grammar: 0.9 s of CPU in each
    # command that checks a labeling config not seen before (label-studio-sdk imports jsonschema)
    "rfc3987_syntax",
})


class _Unwanted:
    """A finder that says the :data:`UNWANTED` modules are not there (the importers expect that)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name in UNWANTED:
            raise ModuleNotFoundError(f"{name} is left out of annover's commands", name=name)


def without_slow_imports() -> None:
    """A command's process does without the :data:`UNWANTED` modules. Never called by the library: a
    notebook's jsonschema keeps every format check it has."""
    if _Unwanted not in sys.meta_path:
        sys.meta_path.insert(0, _Unwanted)  # type: ignore[arg-type]


def arrow_without_pandas() -> None:
    """Spare a command pyarrow's probe for pandas (imports it never uses).

    pyarrow looks for pandas once, the first time it converts a Python object, and
    imports it if it can. Commands that handle tables call this first: with pandas hidden
    for that one probe, pyarrow remembers "no pandas" for its optional integration; pandas
    stays importable by anyone, and pyarrow itself imports it when asked for a
    conversion that needs it (to_pandas). Never called by the library: a notebook's
    pyarrow keeps its pandas integration.
    """
    if "pandas" in sys.modules:
        return

    class Hide:  # a finder that says pandas is not there
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> None:
            if name == "pandas":
                raise ModuleNotFoundError("hidden from pyarrow's probe", name="pandas")

    sys.meta_path.insert(0, Hide)  # type: ignore[arg-type]
    try:
        pa.array([0])  # the probe: fails to import pandas, and remembers
    finally:
        sys.meta_path.remove(Hide)  # type: ignore[arg-type]


def entry() -> None:
    # Arrow's default allocator (mimalloc) takes fresh memory from the OS in page faults that
    # cost ~30 us each in a VM: a 1M-row snapshot spent 1.5-2.9 s of system time on them,
    # against 0.6-0.8 s with the system allocator (glibc), which also peaks lower (608 MB
    # against 654-721 MB). Set before pyarrow is imported; the user's own setting wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", ARROW_POOL)
    without_slow_imports()
    catch_interrupts()
    code = run()
    # Leave without the interpreter's teardown: pyarrow's static destructors can abort a
    # finished process ("terminate called without an active exception", apache/arrow#34314),
    # turning a success into exit 134 now and then. Everything annover writes is written
    # and closed by now; only the standard streams need flushing.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


# ---------------------------------------------------------------- shared output helpers


def short(vid: str | None) -> str:
    """A version id as shown to people: its first 12 digits."""
    return vid[:12] if vid else "-"


def counted(n: int, things: str) -> str:
    """``n`` and a plural noun as git says them: "1 task", "2 tasks", "0 tasks"."""
    return f"{n} {things[:-1] if n == 1 and things.endswith('s') else things}"


def size_text(n: float) -> str:
    """A byte count as shown to people (1000-based units: 12 B, 4.1 KB, 6.9 MB)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{int(n)} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


#: characters a terminal acts on rather than shows: C0 controls (ESC, BEL, CR, backspace...),
#: DEL, C1 controls (a lone 0x9b is a CSI), the bidi overrides and isolates that reorder what
#: follows them, and Unicode's line and paragraph separators
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
#: what :func:`json_text` escapes beyond what json does (DEL, C1 controls, bidi, separators), as
#: the inside of a character class
JSON_ALSO_ESCAPED = f"\x7f-\x9f{_BIDI_AND_SEPARATORS}"
_NON_ASCII_UNSAFE = re.compile(f"[{JSON_ALSO_ESCAPED}]")


def _escaped(m: "re.Match[str]") -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe(text: str, lines: bool = False) -> str:
    """``text`` as plain-text output shows it: every character a terminal acts on rather than shows
    (C0 controls such as ESC, BEL, CR; DEL; C1 controls, where a lone 0x9b is a CSI; the bidi
    overrides and isolates that reorder what follows; line and paragraph separators) written as
    ``\\x1b`` / ``\\u202e``, so a version message, a tag, an annotator or a label from a file can
    neither drive the terminal nor hide what follows. ``lines``: keep newlines."""
    return (_UNSAFE_BUT_NEWLINE if lines else _UNSAFE_RE).sub(_escaped, text)


def shown_width(text: str) -> int:
    """The columns ``text`` takes on a terminal as :func:`echo` shows it: control characters
    escaped (``\\x0a`` is four), East Asian wide and full-width characters two, combining marks none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in safe(text))


def table(rows: list[list[str]], right: "set[int] | frozenset[int]" = frozenset(), indent: str = "  ") -> list[str]:
    """Rows as aligned columns (``right``: the columns aligned right), padded by the width each
    cell shows (:func:`shown_width`: a label such as '中立', or one with a tab in it, would shift
    the columns after it if padded by its length). A line ends at its last cell's last character:
    only padding is trimmed, never a cell's own trailing whitespace (a label ending in a newline
    shows it, as ``\\x0a``, where two labels differing only there would otherwise look the same)."""
    if not rows:
        return []
    widths = [max(shown_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        n = len(r)
        while n and not r[n - 1]:  # empty last cells: no padding after the last that shows
            n -= 1
        pads = [" " * (w - shown_width(c)) for c, w in zip(r[:n], widths)]
        cells = [p + c if i in right else c + p if i < n - 1 else c for i, (c, p) in enumerate(zip(r, pads))]
        out.append(indent + "  ".join(cells) if n else "")
    return out


def echo(line: str) -> None:
    """One line of plain-text output on stdout, with :func:`safe` applied."""
    click.echo(safe(line))


def json_text(data: Any) -> str:
    """``data`` as JSON text, indented by 2: the exact strings (controls and bidi characters as
    JSON escapes, which json already does for C0, so the text is safe on a terminal too)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _NON_ASCII_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout (:func:`json_text`)."""
    click.echo(json_text(data))


def info(msg: str) -> None:
    """A message on stderr, with :func:`safe` applied (newlines kept)."""
    click.echo(safe(msg, lines=True), err=True)


def open_repo() -> "repo_.Repo":
    """The repository here; what opening it repaired (an interrupted command's leftovers) goes to
    stderr (:func:`say_repaired`)."""
    repo = repo_.Repo(".")
    say_repaired(repo)
    return repo


def version_config(repo: "repo_.Repo", vid: str, rev: str) -> str:
    """The labeling config text version ``vid`` (given as ``rev``) recorded; none is exit 14."""
    text = repo.config_text(vid)
    if text is None:
        raise NotFoundError(f"version {rev} ({vid[:12]}) records no labeling config",
                            "snapshot with --config FILE to record one, or give a config file")
    return text


def say_repaired(repo: "repo_.Repo") -> None:
    """Say on stderr, once, what the repository repaired since it was opened or last asked
    (``repaired: ...``; ``warning: ...`` for what it could not), with -q and --json too."""
    for note in repo.recovered:
        info(f"warning: {note}" if note.startswith(("ignored", "could not")) else f"repaired: {note}")
    repo.recovered.clear()


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
#: ``-q`` as ``git -q`` (docs/commands.md): what :func:`say` leaves out, and what is still said.
QUIET_HELP = ("Quiet, as git -q: no progress, no summary (the 'wrote ...' line), no notes on stderr; warnings "
              "and errors are still said there, and stdout is as without it.")
quiet_said_option = click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)


def say(msg: str, quiet: bool) -> None:
    """A message ``-q`` leaves out (:data:`QUIET_HELP`): a summary, a note; a warning, a repair and
    an error go through :func:`info`, said with ``-q`` too."""
    if not quiet:
        info(msg)


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback: a value given as the empty string (``--out "$UNSET"``) is a usage error, not
    the option left out nor the current folder (as ``git init ''`` is refused)."""
    if value == "" or (isinstance(value, tuple) and "" in value):
        raise click.BadParameter("it is empty (an unset shell variable?): give a value, or leave it out", ctx, param)
    _not_an_option(ctx, param, value)
    return value


def _not_an_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A value spelled as an option (``init --remote --json``) is an option with the value left
    out, not a folder named ``--json`` made as the remote: refused (``./--json`` names such a file)."""
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, str) and _OPTION_LIKE.fullmatch(v):
            raise click.BadParameter(f"{v!r} looks like an option (a value left out?): give the value, or "
                                     f"./{v} for a file or folder named so", ctx, param)


#: what an option looks like: ``-q``, ``--json``, ``--no-color`` (not ``-``, stdout)
_OPTION_LIKE = re.compile(r"--?[A-Za-z][A-Za-z0-9-]*")


def not_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback for a message: given, it says something (``git commit -m ''`` aborts too)."""
    if value is not None and not value.strip():
        raise click.BadParameter("an empty message: give one, or leave the option out", ctx, param)
    return value


#: Seconds a command works before its progress bar appears (a quick run shows none).
BAR_AFTER = 1.0


class Bars:
    """Rich progress bars on stderr, one line per step, where stderr is a terminal; shown from the
    first update after ``after`` seconds (a quick run shows none). Called as ``bars(step, done, total)``."""

    def __init__(self, quiet: bool = False, *, after: float = 0.0, transient: bool = False) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._after, self._transient = after, transient
        self._start = time.monotonic()
        self._p: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> "Bars":
        return self

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._p is None:
            if time.monotonic() - self._start < self._after:
                return
            rp = rich_progress
            self._p = rp.Progress(rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                                  rp.TimeRemainingColumn(), console=rich_console.Console(stderr=True),
                                  transient=self._transient)
            self._p.__enter__()
        if step not in self._tasks:
            self._tasks[step] = self._p.add_task(step, total=max(total, 1))
        self._p.update(self._tasks[step], completed=done, total=max(total, 1))

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)


class Progress:
    """Progress on stderr: a spinner with the current step where stderr is a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._status = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._status = rich_console.Console(stderr=True).status("working")
            self._status.__enter__()
        return self

    def __call__(self, step: str) -> None:
        if self._status is not None:
            self._status.update(step)

    def __exit__(self, *exc: Any) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)
