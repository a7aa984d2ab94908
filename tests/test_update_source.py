"""A version made on HEAD's (``snapshot --update``, ``--predictions`` alone) keeps HEAD's link to its
source data: the data did not change. The link was dropped by ``--update``, so a round brought back
into the dataset made a version linked to no data, and the tasks it brought lost their files' hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def _images(n: int) -> list[dict]:
    return [{"data": {"image": f"data/images/{i}.png", "ext_id": f"im-{i}"},
             "annotations": [{"completed_by": 1, "result": [
                 {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}]}]}
            for i in range(n)]


CONFIG = ('<View><Image name="image" value="$image"/>'
          '<Choices name="label" toName="image"><Choice value="cat"/><Choice value="dog"/></Choices></View>')


def test_an_update_keeps_head_s_source_link_and_hashes_its_tasks_against_head_s_files(repo):
    imgs = Path("data/images")
    imgs.mkdir(parents=True)
    for i in range(3):
        (imgs / f"{i}.png").write_bytes(f"png-{i}".encode())
    Path("img.xml").write_text(CONFIG)
    tasks = _images(3)
    Path("r1.json").write_text(json.dumps(tasks[:2]))
    v1 = repo.snapshot("r1.json", config="img.xml", key="data.ext_id", source_data="data/images", message="r1")
    link = v1.version.record["source"]
    tasks[1]["annotations"][0]["result"][0]["value"]["choices"] = ["dog"]  # a round: one relabeled, one new task
    Path("round.json").write_text(json.dumps(tasks[1:]))
    v2 = repo.snapshot("round.json", update=True, message="round")
    assert v2.version.record["source"] == link
    hashes = dict(zip(*[repo.read_table("HEAD", "tasks").column(c).to_pylist() for c in ("data", "data_hash")]))
    by_image = {json.loads(d)["image"]: h for d, h in hashes.items()}
    assert by_image == {f"data/images/{i}.png": hashlib.sha256(f"png-{i}".encode()).hexdigest() for i in range(3)}
    source = repo.diff("v1", "v2").to_json()["source"]  # the same data: the diff says it did not change
    assert source["changed"] is False and source["removed"] == [] and source["files_after"] == 3
