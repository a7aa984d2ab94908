"""Label Studio, live: datasets (projects), sending tasks with predictions, pulling them.

    from annover.labelstudio import Datasets, connect, sync
    ls = connect()                                   # LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY
    ds = Datasets(ls)
    ds.create("reviews", config_file="labeling.xml")
    ds.push("reviews", "reviews.jsonl", key="data.id", predictions="preds.jsonl")
    got = sync.pull(ls, "reviews", key="data.id")    # tables, config, origin: a version's content

This layer returns data; the repository makes versions and commits (``repo.datasets`` is
a :class:`Datasets` bound to it). Nothing heavy is imported here: label-studio-sdk loads on
the first server call.
"""

from __future__ import annotations

from annover.labelstudio.client import Client, Project, connect
from annover.labelstudio.datasets import Datasets, RecordAction, RecordChange
from annover.labelstudio.sync import Previous, Pull, PullMode

__all__ = ["Client", "Datasets", "Previous", "Project", "Pull", "PullMode", "RecordAction", "RecordChange", "connect"]
