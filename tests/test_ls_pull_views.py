"""The data-manager views an incremental pull makes, and which of a project's views it removes."""

from __future__ import annotations

import datetime as dt

import pytest

from annover.labelstudio import sync

from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _view(ls, pid: int, data: dict) -> int:  # noqa: F811
    return int(ls.raw("POST", "api/dm/views/", what="a view", json_body={"project": pid, "data": data})["id"])


def test_a_pull_removes_only_its_own_stale_views(ls, project_factory):  # noqa: F811
    """Views left by a pull cut short were removed by title alone: a person's tab titled as annover's
    went with them, and so did another pull's view while it was exporting with it (two pulls of one
    project: a cron job and a person). Only views annover marked, made long enough ago, are removed."""
    p = project_factory("views")
    filters = {"conjunction": "and", "items": []}
    old = sync.format_time(dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2 * ls.timeout + 60))
    mark = {"made_by": sync.VIEW_MARK}
    kept = [_view(ls, p.id, {"title": sync.VIEW_TITLE, "filters": filters}),  # a person's, titled as annover's
            _view(ls, p.id, {"title": sync.VIEW_TITLE + " (mine)", "filters": filters}),
            _view(ls, p.id, {"title": sync.VIEW_TITLE, "annover": {**mark, "at": sync.format_time(
                dt.datetime.now(dt.timezone.utc))}, "filters": filters})]  # another pull's, in use
    stale = _view(ls, p.id, {"title": sync.VIEW_TITLE, "annover": {**mark, "at": old}, "filters": filters})
    sync._drop_stale_views(ls, p)
    left = {v["id"] for v in ls.raw("GET", "api/dm/views/", what="views", params={"project": p.id})}
    assert left == set(kept), (left, kept, stale)
    # a pull's own view carries the mark, and is gone after it
    view = sync._changed_view(ls, p, old)
    (made,) = [v for v in ls.raw("GET", "api/dm/views/", what="views", params={"project": p.id}) if v["id"] == view]
    assert made["data"]["annover"]["made_by"] == sync.VIEW_MARK and not sync._stale_view(made, sync.parse_time(old))
    sync._delete_view(ls, view)
