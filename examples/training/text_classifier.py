"""Train a text classifier on one pinned version of the labels (scikit-learn).

In a clone of the labels repository, after `git checkout v2 && dvc pull` (or `annover pull v2`):

    python text_classifier.py v2

One row per task with its text and its label, from `annover.load(rev, format="hf")` (one answer per
task: `--resolve latest`); the split is by task key (below), so a task keeps its split in every
version. Prints one JSON line: the version trained on (to log with the model), the counts, the
split's tasks and the model's predictions on the held-out tasks.
"""

from __future__ import annotations

import hashlib
import json
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import annover


def held_out(task_key: str, percent: int = 25) -> bool:
    """A stable split: the same task is held out in every version, on every machine."""
    return int(hashlib.sha256(task_key.encode()).hexdigest(), 16) % 100 < percent


def main(rev: str = "HEAD") -> dict:
    version = annover.resolve(rev)  # the version id: log it with the model (mlflow.log_param("labels", version))
    ds = annover.load(rev, format="hf", resolve="latest").remove_columns(["_annover"])
    control = next(name for name, f in ds.features.items() if type(f).__name__ == "ClassLabel")
    text = next(name for name, f in ds.features.items() if name not in ("task_key", "ls_task_id", control))
    df = ds.to_pandas()
    df = df[df[control].notna()]  # a task whose answer has no choice
    test = df["task_key"].map(held_out)
    train = df[~test] if (~test).any() else df
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    model.fit(train[text], train[control])
    names = ds.features[control].names
    return {"version": version, "rows": len(df), "labels": sorted(names[int(i)] for i in df[control]),
            "test": sorted(df[test]["task_key"]), "train": sorted(train["task_key"]),
            "predicted": [names[int(i)] for i in model.predict(df[text])], "task_keys": list(df["task_key"])}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:2])))
