"""Label Studio, live: datasets (projects), sending tasks with predictions, pulling versions.

    from annover.labelstudio import connect, datasets, tasks, sync
    ls = connect()                                   # LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY
    datasets.create_dataset(ls, "reviews", open("labeling.xml").read())
    tasks.push(ls, "reviews", "reviews.jsonl", key="data.id", predictions="preds.jsonl")
    sync.snapshot_project(annover.Repo("."), "reviews", message="round 1", client=ls)

Nothing heavy is imported here: label-studio-sdk loads on the first server call.
"""

from __future__ import annotations

from annover.labelstudio.client import Client, Project, connect

__all__ = ["Client", "Project", "connect"]
