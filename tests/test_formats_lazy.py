"""A Label Studio JSON snapshot loads no training format's reader or writer.

Importing them all cost every ``annover snapshot``, ``export`` and ``diff`` process tens of
milliseconds of CPU; they are bound through ``annover._lazy.lazy`` where only some paths use them.
One fresh interpreter imports the modules of the snapshot and export commands, reads the sample
round, and says which ``annover.formats`` modules got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sentiment"
#: what only the training formats (and doccano's JSONL) need
NOT_NEEDED = ("coco", "coco_fast", "boxes_fast", "yolo", "voc", "hf", "hf_read", "conll", "training", "train",
              "doccano", "images")

PROGRAM = """
import json, sys
from pathlib import Path
import annover.cli.diff_cmd, annover.cli.export, annover.cli.snapshot, annover.repo.export, annover.repo.snapshot
from annover.formats.read import read_source
from annover.model.config import LabelingConfig
sample = Path(sys.argv[1])
tables = read_source(sample / "round2.json", config=LabelingConfig((sample / "labeling.xml").read_text()),
                     key="data.ext_id")
print(json.dumps([tables.annotations.num_rows, sorted(m for m in sys.modules if m.startswith("annover.formats."))]))
"""


def test_label_studio_json_read_loads_no_training_format():
    p = subprocess.run([sys.executable, "-c", PROGRAM, str(SAMPLE)], capture_output=True, text=True, check=True,
                       cwd=ROOT)
    rows, loaded = json.loads(p.stdout)
    assert rows > 0
    assert "annover.formats.label_studio" in loaded  # the reader it needs, so the check looks at a real read
    assert [m for m in loaded if m.rsplit(".", 1)[1] in NOT_NEEDED] == []
