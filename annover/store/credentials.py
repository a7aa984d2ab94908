"""Remote URLs and their credentials, as DVC takes them: which remote options hold a credential
(they go to ``.dvc/config.local``, which git ignores, never to the committed ``.dvc/config``),
a URL's ``user:password@`` taken out into DVC's option names, and URLs shown with it hidden.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from annover.errors import UsageError

__all__ = ["CREDENTIALS", "has_userinfo", "is_local_url", "is_secret_option", "redact", "redact_text", "scheme",
           "split_options", "split_userinfo"]

#: Remote options that hold a credential or the path of one, per remote type (the URL's scheme): those
#: DVC's documentation sets with ``dvc remote modify --local`` (its config schema marks none), and
#: ``gdrive_client_secret`` and ``sse_customer_key``. A test checks each is an option of that type in
#: DVC's schema. Any type's option whose name says secret (:data:`_SECRET_OPTION`) counts too.
CREDENTIALS: dict[str, frozenset[str]] = {
    "s3": frozenset({"access_key_id", "secret_access_key", "session_token", "sse_customer_key", "credentialpath",
                     "configpath"}),
    "gs": frozenset({"credentialpath"}),
    "azure": frozenset({"connection_string", "sas_token", "account_key", "client_id", "client_secret", "tenant_id"}),
    "ssh": frozenset({"password", "passphrase", "keyfile"}),
    "hdfs": frozenset({"kerb_ticket"}),
    "webhdfs": frozenset({"token", "user", "password"}),
    "http": frozenset({"user", "password", "custom_auth_header"}),
    "https": frozenset({"user", "password", "custom_auth_header"}),
    "webdav": frozenset({"user", "password", "token", "custom_auth_header", "cert_path", "key_path"}),
    "webdavs": frozenset({"user", "password", "token", "custom_auth_header", "cert_path", "key_path"}),
    "oss": frozenset({"oss_key_id", "oss_key_secret"}),
    "gdrive": frozenset({"gdrive_client_secret", "gdrive_user_credentials_file",
                         "gdrive_service_account_json_file_path", "profile"}),
}
_SECRET_OPTION = re.compile(r"secret|passw|token|credential|session|access_key|account_key|connection_string"
                            r"|sas|key_?file|key_path|auth_header", re.I)
#: Where the user and password of a URL's ``user:password@`` go, per remote type (DVC's option names).
_USERINFO_OPTIONS: dict[str, tuple[str, str | None]] = {
    "s3": ("access_key_id", "secret_access_key"), "oss": ("oss_key_id", "oss_key_secret"),
    "ssh": ("user", "password"), "http": ("user", "password"), "https": ("user", "password"),
    "webdav": ("user", "password"), "webdavs": ("user", "password"), "webhdfs": ("user", "password"),
    "hdfs": ("user", None),
}

def is_local_url(url: str) -> bool:
    """A remote URL that is a folder path (``/srv/dvc``, ``../store``, ``file://...``)."""
    return "://" not in url or url.startswith("file://")


def redact(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, and any query (``?token=...``, which a
    remote's URL cannot use: DVC adds each file's path after it) by ``?***``."""
    found = _userinfo(url)
    while found is not None and _userinfo(found[2]) is not None:  # a password with both '/' and '@' unescaped
        found = _userinfo(found[2])
    out = url if found is None else found[2].replace("://", "://***@", 1)
    return out.split("?", 1)[0] + "?***" if "://" in out and "?" in out else out


#: the ``user[:password]@`` of a URL inside a text: up to the authority's last '@'
_USERINFO_IN_TEXT = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#]*@")


def redact_text(text: str) -> str:
    """``text`` (a library's message, which may quote the URL it failed on) with the ``user:password@``
    of every URL in it shown as ``***@``."""
    return _USERINFO_IN_TEXT.sub(r"\1***@", text)


def has_password(url: str) -> bool:
    """Whether ``url`` holds a ``user:password@`` (a key and its secret, for S3)."""
    found = _userinfo(url)
    return found is not None and found[1] is not None


def scheme(url: str) -> str:
    """The remote type of ``url`` (its scheme, lower case; ``""`` for a folder)."""
    return "" if is_local_url(url) else url.split("://", 1)[0].lower()


def is_secret_option(name: str, url: str = "") -> bool:
    """An option of the remote at ``url`` that holds a credential (see :data:`CREDENTIALS`): it goes to
    ``.dvc/config.local`` (git-ignored), never to the committed ``.dvc/config``."""
    return name.lower() in CREDENTIALS.get(scheme(url), ()) or bool(_SECRET_OPTION.search(name))


def _userinfo(url: str) -> tuple[str, str | None, str] | None:
    """``(user, password, url without them)`` when ``url`` holds ``user[:password]@``, else None.

    As URLs have it (an ``@`` before the first ``/`` after the scheme), and also a password
    with a ``/`` not written ``%2F`` (S3 secret keys hold them): ``s3://KEY:ab/cd@bucket``.
    """
    if is_local_url(url):
        return None
    scheme, rest = url.split("://", 1)
    authority = rest.split("/", 1)[0]
    at = authority.rfind("@")
    if at >= 0:  # the userinfo ends at the authority's last '@' (RFC 3986): a password may hold '@'
        user, colon, password = authority[:at].partition(":")
        return unquote(user), unquote(password) if colon else None, f"{scheme}://{rest[at + 1:]}"
    m = re.match(r"([^/:@]*)(?::([^@]*))?@", rest)
    if not m:
        return None
    user, password = m.group(1), m.group(2)
    if "@" not in rest.split("/", 1)[0] and (password is None or re.fullmatch(r"\d*", password.split("/", 1)[0])):
        return None  # an '@' in the path (a port before it: host:8080/a@b)
    return unquote(user), None if password is None else unquote(password), f"{scheme}://{rest[m.end():]}"


def split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``user:password@``, and the remote options that carry them instead.

    DVC's option names for the remote type (``s3://KEY:SECRET@bucket``: ``access_key_id`` and
    ``secret_access_key``; ``https://u:pw@host``: ``user`` and ``password``). A type whose
    credentials are not a user and a password is a UsageError: name them with ``--remote-option``.
    """
    found = _userinfo(url)
    if found is None:
        return url, {}
    user, password, bare = found
    if _userinfo(bare) is not None:
        raise UsageError(f"the remote URL {redact(url)} holds credentials whose end DVC cannot tell: an '@' after "
                         "a '/' in the password", "write each '@' of the password as %40 and each '/' as %2F")
    names = _USERINFO_OPTIONS.get(scheme(url))
    if names is None or (password is not None and names[1] is None):
        raise UsageError(f"the remote URL {redact(url)} holds credentials (user:password@), which DVC does not "
                         f"take from {scheme(url)}:// URLs",
                         "give them with --remote-option KEY=VALUE (DVC's option names; they go to "
                         ".dvc/config.local, which git ignores)")
    options = {names[0]: user}
    if password is not None and names[1]:
        options[names[1]] = password
    return bare, options


def has_userinfo(value: str) -> bool:
    """Whether ``value`` is a URL with a ``user[:password]@``."""
    return "://" in value and _userinfo(value) is not None


def split_options(url: str, options: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Remote options as ``(public, secret)``: ``.dvc/config`` (committed) takes the first,
    ``.dvc/config.local`` (git-ignored) the second. A credential option is secret; a URL-valued
    option with a ``user:password@`` (``endpointurl=http://u:pw@proxy``) is public without it
    and secret with it, so a clone has the endpoint and this machine also the credentials
    (DVC reads an option of ``config.local`` over the same one of ``config``)."""
    public: dict[str, str] = {}
    secret: dict[str, str] = {}
    for k, v in options.items():
        if is_secret_option(k, url):
            secret[k] = v
            continue
        found = _userinfo(v) if "://" in v else None
        public[k] = v if found is None else found[2]
        if found is not None:
            secret[k] = v
    return public, secret
