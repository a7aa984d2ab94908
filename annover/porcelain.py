"""What users do: init, snapshot, log/show, tag, status, export, load, push/pull.

Each CLI command is one call here; these functions return data and never print.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover.model import canonical as C
from annover.errors import InputError, NotARepoError, ObjectError, RemoteError, RevisionError, UsageError
from annover.files import sha256_file, write_atomic
from annover.formats.predictions import read_predictions_table
from annover.store import dvc as dvc_adapter
from annover.store.dvc import Direction
from annover.store.git import Git
from annover.store.objects import FsStore, first_line
from annover.store.refs import check_tag_name
from annover.store import snapshots
from annover.repo import ANNOVER_DIR, FORMAT, VERSION_SCHEMA, _GITIGNORE, Repo, Version, _maybe_die, read_version_table

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover.formats.ingest import Tables
    from annover.model.config import LabelingConfig

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


# ---------------------------------------------------------------------------
# init


def default_remote_dir(root: Path) -> Path:
    """Where ``annover init`` puts the DVC remote when none is named: outside the repo."""
    base = Path(os.environ.get("ANNOVER_REMOTE_HOME") or Path.home() / ".cache" / "annover" / "remotes")
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return base / f"{root.resolve().name}-{tag}"


def init(path: str | Path = ".", remote: str | None = None, remote_options: dict[str, str] | None = None) -> dict:
    """Make ``path`` an annover repository (git + DVC + layout); harmless when it already is one."""
    root = Path(path).resolve()
    root.mkdir(parents=True, exist_ok=True)
    adir = root / ANNOVER_DIR
    messages: list[str] = []
    created = False
    if adir.exists():
        repo = Repo(root)  # raises NotARepoError on a bad state
        messages.append(f"already an annover repository: {root}")
    else:
        top_path = Git.toplevel_of(root)
        if top_path is None:
            Git.init(root)
            messages.append(f"initialised git in {root}")
            top_path = Git.toplevel_of(root) or root
        dvc_made: tuple[str, ...] = ()
        if dvc_adapter.find_root(root, top_path) is None:
            dvc_adapter.init(root, subdir=root != top_path)
            dvc_made = dvc_adapter.INIT_FILES
            messages.append("initialised DVC")
        adir.mkdir()
        (adir / "objects").mkdir()
        write_atomic(adir / "config.json", (json.dumps({"format": FORMAT, "table_schema": C.TABLE_SCHEMA_VERSION},
                                                       indent=2) + "\n").encode())
        write_atomic(adir / ".gitignore", _GITIGNORE.encode())
        repo = Repo(root)
        files: dict[str, Any] = {repo.rel(adir / "config.json"): Path(), repo.rel(adir / ".gitignore"): Path()}
        for f in dvc_made:
            if (root / f).exists():
                files[repo.rel(root / f)] = Path()
        created = True
        _set_remote(repo, remote, remote_options or {}, messages)
        if (root / ".dvc" / "config").exists() and repo.rel(root / ".dvc/config") not in files:
            files[repo.rel(root / ".dvc/config")] = Path()
        repo.commit({k: repo.toplevel / k for k in files}, "annover init", repo.head_commit())
        messages.append(f"initialised annover repository in {root}")
        return {"root": str(root), "created": created, "remote": _remote_info(repo), "messages": messages}
    if remote:
        _set_remote(repo, remote, remote_options or {}, messages)
        dvc_config = repo.dvc_root / ".dvc" / "config"
        if dvc_config.exists():
            with repo.lock():
                repo.commit({repo.rel(dvc_config): dvc_config}, "annover: set DVC remote", repo.head_commit())
    return {"root": str(repo.root), "created": created, "remote": _remote_info(repo), "messages": messages}


def _set_remote(repo: Repo, remote: str | None, options: dict[str, str], messages: list[str]) -> None:
    if remote:
        messages.append(repo.dvc.set_remote(remote, options))
    elif not repo.dvc.has_default_remote():
        messages.append(repo.dvc.set_local_remote(default_remote_dir(repo.root)))


def _remote_info(repo: Repo) -> dict | None:
    try:
        info = repo.dvc.remote_info()
    except NotARepoError:  # no DVC repository: no remote
        return None
    return info.to_json() if info else None


# ---------------------------------------------------------------------------
# snapshot


@dataclass
class SnapshotResult:
    version: Version | None
    changed: bool
    tag: str | None = None
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "changed": self.changed, "tag": self.tag, "commit": self.commit,
            "version": self.version.to_json() if self.version else None,
            "warnings": self.warnings, "recovered": self.recovered,
        }


def _safe_inside(base: Path, p: Path, what: str) -> Path:
    rp = p.resolve()
    try:
        rp.relative_to(base.resolve())
    except ValueError:
        raise InputError(f"{what} {p} is outside the repository ({base})",
                         "move or copy the data into the repository, or give a path inside it") from None
    return rp


def hash_source(repo: Repo, path: str) -> tuple[dict, dict[str, str]]:
    """Link to the source data: its DVC hash where DVC tracks it, and the sha256 of each file."""
    p = _safe_inside(repo.toplevel, Path(path) if Path(path).is_absolute() else Path.cwd() / path, "--source")
    if not p.exists():
        raise InputError(f"--source {path}: no such file or folder", "give the folder the tasks point at")
    files: dict[str, str] = {}
    if p.is_file():
        files[p.name] = sha256_file(p)
    else:
        for f in sorted(p.rglob("*")):
            if f.is_file() and not f.is_symlink():
                files[f.relative_to(p).as_posix()] = sha256_file(f)
    link: dict[str, Any] = {"path": repo.rel(p), "nfiles": len(files),
                            "sha256": hashlib.sha256(C.canonical_json(files).encode()).hexdigest()}
    link["dvc_md5"] = dvc_adapter.tracked_md5(p)
    return link, files


def _data_hashes(tasks: "pa.Table", files: dict[str, str], source_rel: str) -> "pa.Table":
    """Fill ``data_hash`` for tasks whose data points at a file of the source data."""
    import urllib.parse

    import pyarrow as pa

    if not files:
        return tasks
    by_suffix = {}
    for rel, digest in files.items():
        by_suffix[rel] = digest
        by_suffix[f"{source_rel}/{rel}"] = digest
    out = []
    for data_json in tasks.column("data").to_pylist():
        found = None
        for v in json.loads(data_json).values():
            if not isinstance(v, str):
                continue
            s = urllib.parse.unquote(v.split("?d=", 1)[1] if "?d=" in v else v)
            s = s.lstrip("/")
            parts = s.split("/")
            for i in range(len(parts)):
                cand = "/".join(parts[i:])
                if cand in by_suffix:
                    found = by_suffix[cand]
                    break
            if found:
                break
        out.append(found)
    idx = tasks.schema.get_field_index("data_hash")
    return tasks.set_column(idx, tasks.schema.field(idx), pa.array(out, pa.string()))


def _next_tag(repo: Repo) -> str:
    names = set(repo.refs.tags()) | repo.scm.tags()
    n = max([int(m.group(1)) for t in names if (m := re.fullmatch(r"v(\d+)", t))] or [0])
    return f"v{n + 1}"


def _prune_view(repo: Repo, keep: set[str], known_md5: dict[str, str]) -> None:
    """Leave in the working store only the objects the new version needs.

    An object of the parent version is removed only if the DVC cache has it (so the
    parent stays readable); strays from an interrupted run are not referenced by any
    committed pointer and go.
    """
    cache: Path | None = None
    objdir = repo.dir / "objects"
    for sub in objdir.iterdir() if objdir.is_dir() else []:
        if not sub.is_dir():
            continue
        for f in sub.iterdir():
            oid = sub.name + f.name
            if oid in keep:
                continue
            if f.name.startswith(".tmp-"):
                f.unlink(missing_ok=True)
                continue
            md5 = known_md5.get(oid)
            if md5 is not None:
                if cache is None:
                    cache = repo.dvc.cache_dir()
                if not (cache / md5[:2] / md5[2:]).exists():
                    continue
            f.unlink(missing_ok=True)
        try:
            sub.rmdir()
        except OSError:
            pass


def snapshot(repo: Repo, source: str | None = None, *, config: str | None = None, message: str = "",
             tag: str | None = None, key: str | None = None, source_data: str | None = None,
             predictions: str | None = None, validate: bool = True, fmt: str | None = None,
             tables: "Tables | None" = None, origin: dict | None = None, config_text: str | None = None,
             progress: Progress = _noop, allow_empty: bool = False) -> SnapshotResult:
    """Make a version from ``source`` (a file) or ready ``tables``; None version if nothing changed."""
    from annover.formats.ingest import finish, read_source
    from annover.model.config import LabelingConfig

    if tag is not None:
        check_tag_name(tag)
        if tag in repo.refs.tags() or repo.scm.tags(tag):
            raise UsageError(f"tag {tag!r} already exists", "choose another name with --tag")
    # 1. read and check everything before writing anything
    # the config is checked by label-studio-sdk in a thread while the data is read
    cfg: LabelingConfig | None = None
    if config_text is not None:
        cfg = LabelingConfig(config_text, source="labeling config", background=True)
    elif config:
        cfg = LabelingConfig.from_file(config, background=True)
    else:
        head = repo.head()
        if head and repo.version(head).config_ref:
            cfg = LabelingConfig(repo.config_text("HEAD"), source="the labeling config of HEAD", background=True)
    warnings: list[str] = []
    if cfg is None:
        warnings.append("no labeling config (--config): labels are not validated")
    if tables is None:
        if source is None:
            raise UsageError("nothing to snapshot", "give --from FILE (or --label-studio NAME)")
        progress(f"reading {source}")
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="annover-read") as ex:
            file_sha = ex.submit(sha256_file, source) if origin is None else None  # while it is parsed
            ex.submit(snapshots.warm_up)  # DuckDB for the parts' task hashes (~0.1 s): ready when they are
            tables = read_source(source, config=cfg, key=key, fmt=fmt, validate=validate)
            origin = origin or {"kind": "file", "path": _display_path(repo, source), "format": tables.format,
                                "sha256": file_sha.result() if file_sha else None}
    if cfg is not None:
        cfg.wait()
    warnings += tables.warnings
    preds = tables.predictions
    if predictions:
        progress(f"reading predictions {predictions}")
        extra = read_predictions_table(predictions, key, cfg, validate)
        import pyarrow as pa

        if extra.num_rows:
            unknown = set(extra.column("task_key").to_pylist()) - set(tables.tasks.column("task_key").to_pylist())
            if unknown:
                raise InputError(f"{predictions}: predictions for {len(unknown)} task(s) not in the data, "
                                 f"e.g. {sorted(unknown)[0]!r}", "match predictions to tasks by the same --key")
            preds = finish(pa.concat_tables([preds, extra]), "predictions", predictions)
    tasks = tables.tasks
    source_link, source_files = (None, {})
    if source_data:
        progress(f"hashing source data {source_data}")
        source_link, source_files = hash_source(repo, source_data)
        tasks = _data_hashes(tasks, source_files, source_link["path"])
    by_model = _split_predictions(preds)

    progress("hashing content")
    from annover.model import stats as S

    named: dict[Any, Any] = {"tasks": tasks, "annotations": tables.annotations,
                             **{("predictions", mv): t for mv, t in by_model.items()}}
    kind = {k: k if isinstance(k, str) else "predictions" for k in named}
    config_bytes = cfg.text.encode("utf-8") if cfg else None
    config_oid = hashlib.sha256(config_bytes).hexdigest() if config_bytes else None
    # Hashing, part encoding and stats are independent and mostly outside the GIL (hashlib,
    # Parquet, Arrow kernels): they run at once. Encoding is speculative: nothing is stored
    # before the lock, and a snapshot that changes nothing cancels what has not started.
    pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="annover")
    try:
        id_futs = {k: pool.submit(C.content_id, t, kind[k]) for k, t in named.items()}
        stats_fut = pool.submit(S.compute, tasks, tables.annotations, by_model)
        encoded = {k: snapshots.encode_parts(t, pool, kind[k]) for k, t in named.items()}
        sids = {k: f.result() for k, f in id_futs.items()}
        ids = {"tasks": sids["tasks"], "annotations": sids["annotations"]}
        pred_ids = {k[1]: v for k, v in sids.items() if isinstance(k, tuple)}
        head = repo.head()
        if head and not allow_empty and _same_content(repo.version(head), ids, pred_ids, config_oid, source_link):
            for _, futs, _ in encoded.values():  # most likely nothing to write: stop encoding
                for f in futs:
                    f.cancel()

        with repo.lock():
            recovered = repo.recover()
            parent_id = repo.head()
            parent = repo.version(parent_id) if parent_id else None
            expected_commit = repo.head_commit()
            if parent and not allow_empty and _same_content(parent, ids, pred_ids, config_oid, source_link):
                return SnapshotResult(None, False, warnings=warnings + ["nothing changed since HEAD"],
                                      recovered=recovered)
            tag = tag or _next_tag(repo)
            # 2. objects (write-once; an interrupted run leaves only harmless strays)
            progress("writing snapshots")
            # a part cancelled above is encoded now (HEAD moved while we waited for the lock)
            snaps = {k: snapshots.store_snapshot(repo.store, kind[k], sids[k], encoded[k][0],
                                                 snapshots.collect_parts(*encoded[k]), pool) for k in named}
            config_ref = repo.store.put(config_bytes) if config_bytes else None
            if source_files:
                source_link["files"] = repo.store.put(C.canonical_json(source_files).encode()).to_json()
            _maybe_die("after-objects")
            record = {
                "schema": VERSION_SCHEMA, "hash": "sha256", "parents": [parent_id] if parent_id else [],
                "tables": {"tasks": snaps["tasks"].to_json(), "annotations": snaps["annotations"].to_json(),
                           "predictions": {k[1]: s.to_json() for k, s in snaps.items() if isinstance(k, tuple)}},
                "table_schema": C.TABLE_SCHEMA_VERSION,
                "config": config_ref.to_json() if config_ref else None,
                "source": source_link,
                "author": repo.author(),
                "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "message": message,
                "origin": origin or {},
                "stats": stats_fut.result(),
            }
            return _commit_version(repo, record, parent_id, parent, tag, message, expected_commit, warnings,
                                   recovered, progress)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _commit_version(repo: Repo, record: dict, parent_id: str | None, parent: Version | None, tag: str, message: str,
                    expected_commit: str | None, warnings: list[str], recovered: Any,
                    progress: Progress = _noop) -> SnapshotResult:
    """Write the version record, point DVC at its objects, commit and tag (under the repo lock)."""
    vid = C.json_digest(record)
    vpath = repo.version_path(vid)
    write_atomic(vpath, (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    version = Version(vid, record)
    # 3. the DVC pointer covers exactly this version's objects
    progress("updating the DVC pointer")
    needed = repo.objects_of(version)
    known = {r.oid: r.md5 for r in (repo.objects_of(parent) if parent else [])}
    _prune_view(repo, {r.oid for r in needed}, known)
    for r in needed:  # objects shared with an older version may only be in the DVC cache
        if not repo.store.path(r.oid).exists():
            repo.store.put(repo.store.get(r))
    _maybe_die("before-dvc-add")
    repo.dvc.record(repo.store, needed, repo.dir / "objects.dvc")
    _maybe_die("after-dvc-add")
    # 4. one commit: record, pointer, HEAD, tag
    progress("committing")
    files: dict[str, Any] = {
        repo.rel(vpath): vpath,
        repo.rel(repo.dir / "objects.dvc"): repo.dir / "objects.dvc",
        repo.rel(repo.dir / ".gitignore"): repo.dir / ".gitignore",
        repo.rel(repo.dir / "HEAD"): (vid + "\n").encode(),
        repo.rel(repo.dir / "refs" / "tags" / tag): (vid + "\n").encode(),
    }
    title = message.splitlines()[0] if message else f"snapshot {tag}"
    commit = repo.commit(files, f"annover: {title} ({tag})\n\nannover-version: {vid}\n", expected_commit)
    repo.refs.log(parent_id, vid, f"snapshot {tag}: {title}")
    _maybe_die("before-git-tag")
    repo.scm.tag(tag, commit)
    return SnapshotResult(version, True, tag, commit, warnings, recovered)


def _display_path(repo: Repo, p: str) -> str:
    try:
        return repo.rel(Path(p))
    except ValueError:
        return str(p)


def _split_predictions(preds: "pa.Table") -> dict[str, "pa.Table"]:
    import pyarrow.compute as pc

    if preds.num_rows == 0:
        return {}
    out = {}
    for mv in sorted(pc.unique(preds.column("model_version")).to_pylist()):
        out[mv] = preds.filter(pc.equal(preds.column("model_version"), mv))
    return out


def _same_content(parent: Version, ids: dict, pred_ids: dict, config_oid: str | None, source: dict | None) -> bool:
    t = parent.record["tables"]
    if t["tasks"]["id"] != ids["tasks"] or t["annotations"]["id"] != ids["annotations"]:
        return False
    if {mv: s["id"] for mv, s in t.get("predictions", {}).items()} != pred_ids:
        return False
    pc = parent.record.get("config")
    if (pc["oid"] if pc else None) != config_oid:
        return False
    ps = parent.record.get("source")
    return (ps or {}).get("sha256") == (source or {}).get("sha256")


# ---------------------------------------------------------------------------
# tag, status


def tag(repo: Repo, name: str, rev: str = "HEAD", force: bool = False) -> dict:
    """Name a version (an annover ref committed to git, and a git tag on its commit)."""
    check_tag_name(name)
    vid = repo.resolve(rev)
    with repo.lock():
        repo.recover()
        old = repo.refs.tags().get(name)
        git_tags = repo.scm.tags(name)
        if (old or git_tags) and not force:
            raise UsageError(f"tag {name!r} already exists", "choose another name, or pass --force to move it")
        commit_of = repo.commit_of(vid)
        path = repo.dir / "refs" / "tags" / name
        repo.commit({repo.rel(path): (vid + "\n").encode()}, f"annover: tag {name} -> {vid[:12]}",
                    repo.head_commit())
        if commit_of:
            repo.scm.tag(name, commit_of, force=force)
    return {"tag": name, "version": vid, "commit": commit_of}


def status(repo: Repo, remote: bool = True) -> dict:
    """HEAD, its tags, the DVC remote, and whether HEAD's objects are on it."""
    head = repo.head()
    out: dict[str, Any] = {"root": str(repo.root), "head": head, "tags": repo.tags_of().get(head, []) if head else [],
                           "remote": _remote_info(repo), "pushed": None, "missing_locally": 0, "interrupted": False}
    out["interrupted"] = repo.scm.interrupted()
    hc = repo.head_commit()
    if hc and head:
        committed = (repo.scm.show(hc, repo.rel(repo.dir / "HEAD")) or "").strip()
        if committed and committed != head:
            out["interrupted"] = True
    if head:
        v = repo.version(head)
        needed = repo.objects_of(v)
        out["missing_locally"] = sum(1 for r in needed if not repo.store.has(r))
        if remote and out["remote"]:
            out["pushed"] = repo.dvc.on_remote(needed)
    return out


# ---------------------------------------------------------------------------
# push / pull


def _commit_for(repo: Repo, vid: str) -> str:
    c = repo.commit_of(vid)
    if not c:
        raise NotARepoError(f"version {vid[:12]} is not in the git history here", "pull the git history first")
    return c


def _transfer(repo: Repo, rev: str, remote: str | None, direction: Direction) -> dict:
    """Move one version's objects: its pointer's ``.dir`` listing and the files it lists."""
    vid = repo.resolve(rev)
    commit = _commit_for(repo, vid)
    dir_md5 = repo.dvc.pointer_hash(repo.scm, commit, repo.rel(repo.dir / "objects.dvc"))
    moved = repo.dvc.transfer(dir_md5, direction, remote, vid[:12])
    return {"version": vid, "commit": commit, "transferred": moved}


def push(repo: Repo, rev: str = "HEAD", remote: str | None = None) -> dict:
    """Push the objects version ``rev`` needs (and only those) to the DVC remote."""
    out = _transfer(repo, rev, remote, Direction.PUSH)
    return {"version": out["version"], "commit": out["commit"], "pushed": out["transferred"]}


def pull(repo: Repo, rev: str = "HEAD", remote: str | None = None) -> dict:
    """Fetch the objects version ``rev`` needs into the DVC cache (and the work tree for HEAD)."""
    out = _transfer(repo, rev, remote, Direction.PULL)
    vid = out["version"]
    if vid == repo.head():
        repo.dvc.checkout(repo.dir / "objects.dvc")
    missing = [r for r in repo.objects_of(repo.version(vid)) if not repo.store.has(r)]
    if missing:
        raise RemoteError(f"{len(missing)} object(s) of {vid[:12]} are still missing after the pull",
                          "push them from a clone that has them: annover push REV")
    return {"version": vid, "commit": out["commit"], "fetched": out["transferred"]}


# ---------------------------------------------------------------------------
# load / export


def load(rev: str = "HEAD", table: str = "annotations", repo: str | Path | Repo | None = None,
         model_version: str | None = None, columns: list[str] | None = None) -> "pa.Table":
    """A version's table as a pyarrow Table.

    ``repo`` is an annover repo folder (default: the current one) or, for a repo you have
    not cloned, a git URL: then ``rev`` is a git rev (a tag such as ``v2``, a branch,
    ``HEAD``) and everything is read through DVC's API from the DVC remote.
    """
    if table not in C.TABLES:
        raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")
    if isinstance(repo, Repo):
        return repo.read_table(rev, table, model_version, columns)
    if repo is None or (Path(str(repo)).is_dir() and _is_local_repo(Path(str(repo)))):
        return Repo(repo or ".").read_table(rev, table, model_version, columns)
    return _load_remote(str(repo), rev, table, model_version, columns)


def _is_local_repo(p: Path) -> bool:
    try:
        Repo(p)
        return True
    except NotARepoError:
        return False


def _load_remote(url: str, rev: str, table: str, model_version: str | None, columns: list[str] | None) -> "pa.Table":
    git_rev = None if rev in ("HEAD", "@") else rev
    try:
        fs = dvc_adapter.open_fs(url, git_rev)
        head = fs.read_text(f"{ANNOVER_DIR}/HEAD").strip()
        record = json.loads(fs.read_text(f"{ANNOVER_DIR}/versions/{head}.json"))
    except Exception as e:
        raise RevisionError(f"cannot read annover version {rev!r} from {url}: {first_line(e)}",
                            "give a git URL or path of an annover repo and a git rev (a tag like v2)") from None
    if C.json_digest(record) != head:
        raise ObjectError(f"version record {head[:12]} in {url} does not match its id", "the remote repo is damaged")
    return read_version_table(FsStore(fs, ANNOVER_DIR), Version(head, record), table, model_version, columns)


EXPORT_FORMATS = ("label-studio", "json-min", "jsonl", "csv", "parquet")


def export(repo: Repo, rev: str, fmt: str, out: str | Path, table: str = "annotations") -> dict:
    """Write version ``rev`` as ``fmt`` to ``out`` (written whole, then renamed into place)."""
    from annover.formats import export as E

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}")
    v = repo.show(rev)
    tables = {name: read_version_table(repo.store, v, name) for name in C.TABLES}
    cfg_text = repo.config_text(v.id) if v.config_ref else None
    data = E.render(fmt, tables, cfg_text, table)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, data)
    return {"version": v.id, "format": fmt, "path": str(out), "bytes": len(data),
            "rows": tables[table].num_rows if fmt in ("parquet", "jsonl", "csv") else tables["tasks"].num_rows}
