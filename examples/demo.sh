#!/usr/bin/env bash
# The demo: set up annover in .venv, then run its main job on the sample dataset that
# ships in examples/sentiment/ — a repository with a local DVC remote, two labeling
# rounds, log, show, diff, push, and a training script's load. The repository goes to a
# temporary folder, removed at the end, unless DEMO_DIR names a folder to keep it in.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-python3}
VENV=${ANNOVER_VENV:-$ROOT/.venv}

pipq() {  # pip, quiet, without this machine's notes about its local package mirrors (as .ci/run)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location" >&2)
}
if [ ! -x "$VENV/bin/annover" ]; then
  echo "== installing annover into $VENV" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  pipq --upgrade pip
  pipq -e "$ROOT"
fi
export PATH="$VENV/bin:$PATH"

if [ -n "${DEMO_DIR:-}" ]; then
  WORK=$DEMO_DIR
  if [ -e "$WORK/labels" ] || [ -e "$WORK/train" ]; then
    echo "Error: $WORK holds an earlier demo (labels/, train/) — remove them, or set DEMO_DIR to another folder" >&2
    exit 2
  fi
  UP=$WORK; while [ ! -d "$UP" ]; do UP=$(dirname "$UP"); done
  if TOP=$(git -C "$UP" rev-parse --show-toplevel 2>/dev/null); then
    echo "Error: $WORK is inside the git repository $TOP (annover would version the labels there) — set DEMO_DIR to a folder outside any git repository" >&2
    exit 2
  fi
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
REPO=$WORK/labels
REMOTE=$WORK/dvc-remote
SAMPLE=$HERE/sentiment
# the demo talks to nothing but this machine: no DVC usage report (its daemon would try the network)
export DVC_NO_ANALYTICS=${DVC_NO_ANALYTICS:-1}
# a fresh machine may have no git identity; the demo must still commit
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-annover demo} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-demo@example.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-annover demo} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-demo@example.com}

run() { printf '\n$ %s\n' "$*"; "$@"; }

run annover init "$REPO" --remote "$REMOTE"
cd "$REPO"
cp "$SAMPLE/labeling.xml" "$SAMPLE/round1.json" "$SAMPLE/round2.json" .
run annover snapshot --from round1.json --config labeling.xml --key data.ext_id -m "round 1: first 20 reviews"
run annover snapshot --from round2.json --dry-run    # what round 2 would record; nothing written
run annover snapshot --from round2.json --key data.ext_id -m "round 2: reviewed, 4 new reviews, model predictions"
run annover log
run annover show v2
run annover diff v1 v2
run annover log --task rev-003 -p --oneline   # one review's history: who changed its label, and when
run annover push            # every version the remote lacks, like git push
run annover status

echo
echo "# a training script, in a fresh clone, with plain git + DVC:"
CLONE=$WORK/train
run git clone -q "$REPO" "$CLONE"
cd "$CLONE"
run git checkout -q v2
run dvc pull -q
run python - <<'PY'
import annover
labels = annover.load("v2")                       # pyarrow.Table
print(f"v2: {labels.num_rows} annotation rows, columns: {', '.join(labels.column_names[:6])}, ...")
counts = {}
for row in labels.select(["from_name", "labels", "was_cancelled"]).to_pylist():
    if row["from_name"] == "sentiment" and not row["was_cancelled"]:
        counts[row["labels"][0]] = counts.get(row["labels"][0], 0) + 1
print("sentiment labels:", dict(sorted(counts.items())))
PY
echo
if [ -n "${DEMO_DIR:-}" ]; then
  echo "demo repository: $REPO (DVC remote: $REMOTE)"
else
  echo "demo folder $WORK: removed on exit (set DEMO_DIR=path to keep it)"
fi
