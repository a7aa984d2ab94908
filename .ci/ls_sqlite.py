"""SQLite set up for concurrent writers, in the Label Studio server CI starts.

.ci/labelstudio.sh puts a copy of this file on the server's PYTHONPATH as
``sitecustomize.py``, so it runs when the server's Python starts.

The test suite runs two workers against one server, and Django's runserver answers
requests on threads. With SQLite's default (deferred) transactions, a request that reads
and then writes while another writes fails with "database is locked" part way through:
Label Studio then answers HTTP 500 after it has saved a project without its summary, or
drops every prediction of an import it reports as done. ``IMMEDIATE`` transactions take
the write lock when they begin, so writers queue (up to ``timeout`` seconds) instead.
Label Studio's settings module cannot be wrapped (it reads itself through
``django.conf.settings`` while it loads), so the database options are set where Django
reads them, when a connection opens.
"""

from django.db.backends.sqlite3 import base

_params = base.DatabaseWrapper.get_connection_params


def get_connection_params(self):
    options = self.settings_dict.setdefault("OPTIONS", {})
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("timeout", 60)
    return _params(self)


base.DatabaseWrapper.get_connection_params = get_connection_params
print("annover CI: SQLite transactions IMMEDIATE, busy timeout 60 s", flush=True)
