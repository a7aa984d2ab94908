"""Audit of the ``annover dataset`` commands as a daily user runs them, against a real Label Studio.

Each test is a case the audit found wrong: a server URL copied with a query (a browser's address
bar), the hint of a refused key that named the variable when the key came from a flag.
"""

from __future__ import annotations

import pytest

from .ls_fixtures import cli, ls_server  # noqa: F401 - fixture

pytestmark = pytest.mark.labelstudio

BAD_KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("tail", ["/?token=s3cret", "/projects/1/data?tab=1&task=3", "#top"])
@pytest.mark.parametrize("command", [["dataset", "list"], ["dataset", "stats", "x"],
                                     ["snapshot", "--label-studio", "x", "-m", "m"]])
def test_url_with_query_or_fragment_is_a_usage_error(ls_server, repo, tail, command):  # noqa: F811
    """A URL with ``?...`` or ``#...`` (copied from a browser) was sent with the API's paths glued after its
    query, and the server's HTML login page came back: exit 11 'answered listing projects with something that
    is not JSON', which blames the server. It is the address that is wrong: exit 2 before any request, saying
    so, without showing the query (it may hold a token)."""
    flag = "--ls-url" if command[0] == "snapshot" else "--url"
    code, out, err = cli(*command, flag, ls_server.url + tail)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err
    assert f"{flag} holds a query or fragment" in err and "HOST:PORT" in err
    assert "s3cret" not in err and "tab=1" not in err and out == ""


@pytest.mark.parametrize("command, flag, env", [
    (["dataset", "list"], "--api-key", "LABEL_STUDIO_API_KEY"),
    (["snapshot", "--label-studio", "x", "-m", "m"], "--ls-api-key", "LABEL_STUDIO_API_KEY"),
])
def test_refused_key_hint_names_where_the_key_came_from(ls_server, repo, command, flag, env):  # noqa: F811
    """A key given with --api-key (or --ls-api-key) that the server refuses: the hint said 'check
    LABEL_STUDIO_API_KEY', a variable that may hold the right key, and the user checks the wrong place.
    It names the flag; a refused key from the variable names the variable."""
    code, out, err = cli(*command, flag, BAD_KEY)
    assert code == 13, err
    assert f"check {flag}:" in err and f"check {env}" not in err
    assert BAD_KEY not in err and out == ""
    code, _, err = cli(*command, env={env: BAD_KEY})
    assert code == 13, err
    assert f"check {env}:" in err and BAD_KEY not in err
