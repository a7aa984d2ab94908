"""A connection to a Label Studio server, with its failures mapped to annover's exit codes.

``connect()`` reads ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (arguments override
them). Every server call goes through :meth:`Client.call` or :meth:`Client.raw`, which turn
a server that is down into :class:`LabelStudioConnectionError` (exit 12), a refused key into
:class:`LabelStudioAuthError` (13), a missing project into :class:`NotFoundError` (14) and any
other answer into :class:`LabelStudioError` (11; a failure on the server's side, HTTP 5xx, is
its subclass :class:`LabelStudioServerError`), each with a one-line message. The key is
kept in one private attribute: never in a message, a repr, a log line or a file.

label-studio-sdk is bound lazily (it takes most of a second to import): it loads on the
first server call.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from annover._lazy import lazy
from annover.errors import (
    AnnoverError,
    LabelStudioAuthError,
    LabelStudioConnectionError,
    LabelStudioError,
    LabelStudioServerError,
    NotFoundError,
    UsageError,
    env_seconds,
)

if TYPE_CHECKING:
    import httpx
    import label_studio_sdk
    import label_studio_sdk.core.api_error as ls_api_error
    import label_studio_sdk.core.client_wrapper as ls_wrapper
    import label_studio_sdk.core.parse_error as ls_parse_error
else:
    httpx = lazy("httpx")
    label_studio_sdk = lazy("label_studio_sdk")
    ls_api_error = lazy("label_studio_sdk.core.api_error")
    ls_wrapper = lazy("label_studio_sdk.core.client_wrapper")
    ls_parse_error = lazy("label_studio_sdk.core.parse_error")

ENV_URL = "LABEL_STUDIO_URL"
ENV_KEY = "LABEL_STUDIO_API_KEY"
#: The variable Label Studio itself reads for local file serving; annover reads the same one.
ENV_DOCUMENT_ROOT = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
ENV_TIMEOUT = "ANNOVER_LS_TIMEOUT"
DEFAULT_TIMEOUT = 600.0

T = TypeVar("T")


def public_url(url: str) -> str:
    """``url`` without credentials, query or trailing slash: safe to print and to record."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _normalize_url(url: str) -> str:
    url = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        url = "http://" + url
    return url.rstrip("/")


def _one_line(text: str, limit: int = 300, key: str | None = None) -> str:
    """``text`` on one line, cut at ``limit`` characters, ``key`` hidden first (a cut key would show its start)."""
    text = hide_key(" ".join(str(text).split()), key)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: the shortest API key hidden wherever it occurs; a shorter one where it stands apart (as ``Token abc``),
#: since hiding it inside words would hide every ``a`` of a one-letter key
HIDDEN_ANYWHERE = 6


#: a JSON Web Token (base64url ``header.payload.signature``): a personal access token is one, and so
#: is the access token label-studio-sdk trades it for and sends (``Bearer ...``), which is not the key
_JWT = re.compile(r"eyJ[0-9A-Za-z_-]*\.[0-9A-Za-z_-]+\.[0-9A-Za-z_-]*")


def hide_key(text: str, key: str | None) -> str:
    """``text`` with API key ``key`` shown as ``***``, whatever its length: a key of
    :data:`HIDDEN_ANYWHERE` characters or more wherever it occurs, a shorter one wherever it is not
    part of a longer run of letters and digits; any JWT (an access token derived from the key) too."""
    text = _JWT.sub("***", text)
    if not key:
        return text
    if len(key) >= HIDDEN_ANYWHERE:
        return text.replace(key, "***")
    before = "(?<![0-9A-Za-z])" if key[0].isalnum() else ""
    after = "(?![0-9A-Za-z])" if key[-1].isalnum() else ""
    return re.sub(before + re.escape(key) + after, "***", text)


def _detail(body: Any, key: str | None = None) -> str:
    """The useful part of an error body (DRF's ``detail``, validation errors), on one line, ``key`` hidden."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            if "<html" in body.lower():
                m = re.search(r"<title>(.*?)</title>", body, re.S | re.I)
                return _one_line(m.group(1) if m else "an HTML page", key=key)
            return _one_line(body, key=key)
    if isinstance(body, dict):
        ve = body.get("validation_errors")
        if isinstance(ve, dict) and ve:
            parts = []
            for k, v in ve.items():
                msgs = v if isinstance(v, list) else [v]
                parts.append(f"{k}: " + " ".join(m if isinstance(m, str) else json.dumps(m, ensure_ascii=False)
                                                 for m in msgs))
            return _one_line("; ".join(parts), key=key)
        for k in ("detail", "validation_errors", "message", "error"):
            if body.get(k):
                v = body[k]
                return _one_line(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False), key=key)
    return _one_line(json.dumps(body, ensure_ascii=False, default=str), key=key)


@dataclass(frozen=True)
class Project:
    """A Label Studio project (an annover dataset) with its counts."""

    id: int
    title: str
    label_config: str
    tasks: int
    annotations: int  # non-skipped annotations
    skipped: int
    predictions: int
    ls_labeled: int  # LS's num_tasks_with_annotations (excludes ground-truth-only tasks)
    created_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    #: LS's ground_truth_number and useful_annotation_number (non-skips that are not ground truth and
    #: have a result); None when the server did not send them
    ground_truth: int | None = None
    useful: int | None = None

    @property
    def labeled_exactly(self) -> int | None:
        """Tasks with an annotation that is not a skip, from the project's own counts, when they
        tell it: Label Studio counts these from the annotations themselves on every request, where
        the tasks' ``total_annotations`` (what its data manager filters on) is a stored counter
        that can lag (an annotation saved while another project is deleted keeps it at 0). Its
        ``num_tasks_with_annotations`` leaves out tasks whose only answers are ground truth or
        have no result: exact when the project has none; None otherwise."""
        if self.ground_truth == 0 and self.useful == self.annotations and "num_tasks_with_annotations" in self.raw:
            return self.ls_labeled
        return None

    @classmethod
    def from_json(cls, d: dict) -> "Project":
        def n(k: str) -> int:
            v = d.get(k)
            return int(v) if isinstance(v, (int, float)) else 0

        return cls(
            id=int(d["id"]), title=str(d.get("title") or ""), label_config=str(d.get("label_config") or ""),
            tasks=n("task_number"), annotations=n("total_annotations_number"),
            skipped=n("skipped_annotations_number"), predictions=n("total_predictions_number"),
            ls_labeled=n("num_tasks_with_annotations"),
            created_at=str(d["created_at"]) if d.get("created_at") else None, raw=d,
            ground_truth=n("ground_truth_number") if "ground_truth_number" in d else None,
            useful=n("useful_annotation_number") if "useful_annotation_number" in d else None,
        )


class Client:
    """One Label Studio server. Build it with :func:`connect`."""

    def __init__(self, url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT, url_from: str = ENV_URL,
                 key_from: str = ENV_KEY) -> None:
        #: where the URL and the key came from, named in hints: the environment variable, or the option that gave it
        self.url_from = url_from
        self.key_from = key_from
        self.base_url = _normalize_url(url)
        self.url = public_url(self.base_url)
        self.__key = api_key
        self.timeout = timeout
        self._sdk: Any = None
        self._http: Any = None
        self._users: dict[int, str] | None = None

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    # ------------------------------------------------------------------ plumbing

    @property
    def sdk(self) -> Any:
        """The label_studio_sdk.LabelStudio client (built on first use)."""
        if self._sdk is None:
            def build() -> Any:
                return label_studio_sdk.LabelStudio(base_url=self.base_url, api_key=self.__key,
                                                    timeout=self.timeout)

            self._sdk = self.call("connecting", build)
        return self._sdk

    @property
    def http(self) -> Any:
        """The SDK's authenticated HTTP client, built from the SDK's core alone (its full client
        imports label_interface, jsonschema and pandas: ~2 s of CPU a command that only lists or
        counts would pay); the calls :attr:`sdk` makes build their own."""
        if self._http is None:
            def build() -> Any:
                return ls_wrapper.SyncClientWrapper(
                    base_url=self.base_url, api_key=self.__key, timeout=self.timeout, max_retries=2,
                    httpx_client=httpx.Client(timeout=self.timeout, follow_redirects=True)).httpx_client

            self._http = self.call("connecting", build)
        return self._http

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with every failure turned into an annover error about ``what``."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - mapped below; unknown ones re-raised
            mapped = self.map_error(e, what)
            if mapped is e:
                raise
            raise (self._scrub(mapped) if isinstance(mapped, AnnoverError) else mapped) from None

    def raw(self, method: str, path: str, *, what: str, params: dict | None = None, json_body: Any = None,
            timeout: float | None = None, retries: int | None = None) -> Any:
        """One HTTP call through the SDK's authenticated client; the parsed JSON answer."""
        http = self.http
        opts: dict[str, Any] = {"timeout_in_seconds": timeout or self.timeout}
        if retries is not None:
            opts["max_retries"] = retries

        def go() -> Any:
            r = http.request(path.lstrip("/"), method=method, params=params, json=json_body, request_options=opts)
            if r.status_code >= 400:
                try:
                    body = r.json()
                except ValueError:
                    body = r.text
                raise ls_api_error.ApiError(status_code=r.status_code, body=body)
            if r.status_code == 204 or not r.content:
                return None
            try:
                return r.json()
            except ValueError:
                raise LabelStudioError(f"{self.url} answered {what} with something that is not JSON",
                                       f"is {self.url_from} the address of a Label Studio server?") from None

        return self.call(what, go)

    def status_of(self, path: str, *, what: str, params: dict | None = None) -> int:
        """HTTP status of an authenticated GET of ``path`` (a page or a file, not the API)."""
        http = self.http

        def go() -> int:
            r = http.request(path.lstrip("/"), method="GET", params=params, request_options={"max_retries": 0})
            return r.status_code

        return self.call(what, go)

    def map_error(self, e: BaseException, what: str) -> BaseException:
        """The annover error for exception ``e`` raised while ``what``; ``e`` itself if unknown."""
        if isinstance(e, AnnoverError):
            return self._scrub(e)
        where = f"Label Studio at {self.url}"
        if isinstance(e, httpx.TimeoutException):
            return LabelStudioConnectionError(
                f"{where} did not answer in time ({what}, limit {self.timeout:g} s)",
                f"check that the server is healthy, or raise the limit with {ENV_TIMEOUT}=SECONDS")
        if isinstance(e, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return UsageError(f"{self.url_from}={self.url!r} is not a usable URL", "give http(s)://HOST:PORT")
        if isinstance(e, (httpx.LocalProtocolError, UnicodeError)):  # a header or URL HTTP cannot carry
            return self._scrub(UsageError(f"a request to {where} could not be sent ({what}): "
                                          f"{_one_line(str(e) or type(e).__name__, 120, self.__key)}",
                                          f"check {self.url_from} and {self.key_from} for spaces or non-ASCII "
                                          "characters"))
        if isinstance(e, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
            reason = _one_line(str(e) or type(e).__name__, 120, self.__key)
            return LabelStudioConnectionError(f"cannot reach {where}: {reason}",
                                              f"start Label Studio, or check {self.url_from}")
        try:
            ApiError, ParsingError = ls_api_error.ApiError, ls_parse_error.ParsingError
        except ImportError:  # pragma: no cover
            return e
        if isinstance(e, ApiError) and not isinstance(e, ParsingError) and e.status_code is not None:
            status = e.status_code
            detail = _detail(e.body, self.__key)
            if status == 401:
                return self._scrub(LabelStudioAuthError(
                    f"{where} refused the API key (HTTP 401: {detail})",
                    f"check {self.key_from}: copy the token from Label Studio's Account & Settings page"))
            if status == 403:
                return self._scrub(LabelStudioAuthError(
                    f"{where} refused {what} (HTTP 403: {detail})",
                    f"use the API key of a user allowed to do this ({self.key_from})"))
            if status == 404:
                return self._scrub(NotFoundError(f"{what}: not found on {self.url}",
                                                 "list the datasets with `annover dataset list`"))
            error = LabelStudioServerError if status >= 500 else LabelStudioError
            return self._scrub(error(f"{where} answered HTTP {status} to {what}: {detail}",
                                     "see the Label Studio server log for details"))
        if isinstance(e, (ParsingError, ValueError)) and not isinstance(e, UnicodeError):
            return self._scrub(LabelStudioError(
                f"unexpected answer from {where} to {what}: {_one_line(str(e), 120, self.__key)}",
                f"is {self.url_from} the address of a Label Studio server (1.20 or newer)?"))
        return e

    def _scrub(self, e: AnnoverError) -> AnnoverError:
        """Belt and braces: no message may ever carry the key."""
        e.message = hide_key(e.message, self.__key)
        if e.hint:
            e.hint = hide_key(e.hint, self.__key)
        e.args = (e.message,)
        return e

    # ------------------------------------------------------------------ projects

    def projects(self, title: str | None = None) -> list[Project]:
        """Every project the key can see (``title``: only those with exactly that title)."""
        return [p for p in self._listed(title) if title is None or p.title == title]

    def _listed(self, title: str | None = None) -> list[Project]:
        """Every project the key can see; ``title``: those whose title holds it, any case (the
        server's filter)."""
        out = []
        page = 1
        params: dict[str, Any] = {"page_size": 100}
        if title is not None:
            params.update(title=title, include="id,title")  # a cheap lookup: no counts
        while True:
            try:
                d = self.raw("GET", "api/projects/", what="listing projects", params={**params, "page": page})
            except NotFoundError:  # every Label Studio has this list: the URL is not a server's root
                raise LabelStudioError(f"{self.url} has no Label Studio project list (HTTP 404 on api/projects/)",
                                       f"set {self.url_from} to the server's address, http(s)://HOST:PORT, "
                                       "with no /api or page path") from None
            items = d.get("results", []) if isinstance(d, dict) else (d or [])
            out += [Project.from_json(p) for p in items]
            if not isinstance(d, dict) or not d.get("next"):
                break
            page += 1
        return out

    def project_by_id(self, pid: int) -> Project:
        return Project.from_json(self.raw("GET", f"api/projects/{pid}/", what=f"reading project {pid}"))

    def project(self, name: str | int) -> Project:
        """The project titled ``name``, or with id ``name``; NotFoundError otherwise."""
        s = str(name).strip()
        if not s:
            raise UsageError("empty dataset name", "give a Label Studio project title or id")
        if s.isdigit():
            try:
                return self.project_by_id(int(s))
            except NotFoundError:
                pass
        listed = self._listed(title=s)
        matches = [p for p in listed if p.title == s]
        if not matches:
            raise NotFoundError(f"no dataset (Label Studio project) {s!r} on {self.url}", _near(s, listed))
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in sorted(matches, key=lambda p: p.id))
            raise AmbiguousTitleError(f"{len(matches)} Label Studio projects are titled {s!r} (ids {ids})",
                                      "name the dataset by its project id", sorted(p.id for p in matches))
        return self.project_by_id(matches[0].id)

    def users(self) -> dict[int, str]:
        """user id -> email, for annotators given as ids."""
        if self._users is None:
            d = self.raw("GET", "api/users/", what="listing users")
            items = d.get("results", []) if isinstance(d, dict) else (d or [])
            self._users = {int(u["id"]): str(u.get("email") or u.get("username") or u["id"]) for u in items}
        return self._users

    def project_url(self, project: Project) -> str:
        """Where a person labels the project in a browser."""
        return f"{self.url}/projects/{project.id}/data"


class AmbiguousTitleError(UsageError):
    """Two projects or more have the title a dataset was named by; ``ids`` are theirs."""

    def __init__(self, message: str, hint: str, ids: list[int]) -> None:
        super().__init__(message, hint)
        self.ids = ids


def _near(name: str, listed: list[Project]) -> str:
    """The hint for a dataset name no project has exactly: titles that differ only in case (titles
    are matched as written), else a few that hold it, else how to list or make one."""
    listed = [p for p in listed if name.casefold() in p.title.casefold()]  # a server may not filter
    same = [p for p in listed if p.title.casefold() == name.casefold()]
    if same:
        found = ", ".join(f"{p.title!r} (id {p.id})" for p in sorted(same, key=lambda p: p.id))
        return f"titles are matched as written, case too: did you mean {found}?"
    if listed:
        found = ", ".join(repr(p.title) for p in sorted(listed, key=lambda p: p.id)[:3])
        return f"titles holding it: {found}{', ...' if len(listed) > 3 else ''}; give one as written, or its id"
    make = shlex.quote(name) if not name.isdigit() else "NAME"
    return (f"list them with `annover dataset list`, or make it with `annover dataset create {make}` (in a "
            "repository: with HEAD's labeling config; else --config FILE or --template)")


def connect(url: str | None = None, api_key: str | None = None, timeout: float | None = None,
            flags: tuple[str, str] = ("--url", "--api-key")) -> Client:
    """A :class:`Client` for ``url`` / ``api_key``, defaulting to the environment (``flags``:
    the command's options for them, named in the hints)."""
    url_from = flags[0] if url else ENV_URL
    key_from = flags[1] if api_key else ENV_KEY
    url = url or os.environ.get(ENV_URL)
    api_key = api_key or os.environ.get(ENV_KEY)
    if not url:
        raise UsageError(f"no Label Studio URL: {ENV_URL} is not set",
                         f"export {ENV_URL}=http://localhost:8080 (or pass {flags[0]})")
    if not api_key:
        raise UsageError(f"no Label Studio API key: {ENV_KEY} is not set",
                         f"export {ENV_KEY}=<token from Account & Settings> (or pass {flags[1]})")
    _check_url(url, url_from)
    api_key = api_key.strip()
    if not _TOKEN.fullmatch(api_key):  # an HTTP header cannot carry it; the key itself is never shown
        raise UsageError(f"the Label Studio API key ({ENV_KEY} or {flags[1]}) holds spaces, control or "
                         "non-ASCII characters", "copy the token again from Label Studio's Account & Settings page")
    return Client(url, api_key, _timeout() if timeout is None else timeout, url_from, key_from)


def _check_url(url: str, url_from: str) -> None:
    """Refuse a server URL that does not parse, or that holds a user name or password: httpx would send
    them as Basic authentication in place of the API key (every call then refused as a bad key); or a
    query or fragment (a page's address copied from a browser): the API's paths would be glued after
    it, and the server's login page come back. The URL is not shown: its password or query would be."""
    try:
        netloc = urllib.parse.urlsplit(_normalize_url(url)).netloc
    except ValueError as e:  # "Invalid IPv6 URL"
        raise UsageError(f"{url_from} is not a URL ({e})", "give http(s)://HOST:PORT") from None
    if "@" in netloc:
        raise UsageError(f"{url_from} holds a user name or password (http://USER:***@HOST); Label Studio takes "
                         f"the API key, and they would be sent in its place",
                         f"remove USER:PASSWORD@ from {url_from} and give the key in {ENV_KEY}")
    if "?" in url or "#" in url:
        raise UsageError(f"{url_from} holds a query or fragment (?... or #...): it is the address of a page, "
                         "not of the server", "give the server's address, http(s)://HOST:PORT")


#: what an API key may hold: printable ASCII without spaces (Label Studio's tokens are hex or JWTs)
_TOKEN = re.compile(r"[!-~]+")


def _timeout() -> float:
    """Seconds to wait for Label Studio: ``ANNOVER_LS_TIMEOUT``, else the default."""
    return env_seconds(ENV_TIMEOUT, DEFAULT_TIMEOUT)
