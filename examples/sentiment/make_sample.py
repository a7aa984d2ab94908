"""Regenerate the sample dataset (two rounds of Label Studio JSON exports).

The outputs are committed; this script documents how they were made and is
deterministic (fixed seed), so rerunning it gives the same files.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
random.seed(7)

TEXTS = [
    ("The battery lasts all day and charges fast.", "positive"),
    ("Screen cracked after a week, very disappointed.", "negative"),
    ("Delivery was on time; the box was fine.", "neutral"),
    ("Best headphones I have owned, crisp sound.", "positive"),
    ("The app crashes every time I open settings.", "negative"),
    ("It works as described.", "neutral"),
    ("Customer support in Lisbon solved it in minutes.", "positive"),
    ("Too expensive for what you get.", "negative"),
    ("Arrived in Berlin two days late.", "negative"),
    ("Setup took five minutes, no manual needed.", "positive"),
    ("The color is slightly different from the photo.", "neutral"),
    ("Stopped working after the update from Acme.", "negative"),
    ("Great value, would buy again.", "positive"),
    ("Average quality, nothing special.", "neutral"),
    ("Maria at the Paris store was very helpful.", "positive"),
    ("The strap broke on day one.", "negative"),
    ("Fits perfectly and looks good.", "positive"),
    ("Packaging was damaged but the item was fine.", "neutral"),
    ("Noise cancelling is weak on trains.", "negative"),
    ("Ordered from Tokyo, shipping was quick.", "positive"),
    ("Manual is only in German.", "neutral"),
    ("Keyboard keys feel cheap.", "negative"),
    ("Love the design by Studio Nord.", "positive"),
    ("Does what it says, nothing more.", "neutral"),
]
ANNOTATORS = [{"id": 1, "email": "alice@example.com"}, {"id": 2, "email": "bob@example.com"}]
ENTITIES = {"Lisbon": "LOC", "Berlin": "LOC", "Acme": "ORG", "Maria": "PER", "Paris": "LOC",
            "Tokyo": "LOC", "German": "MISC", "Studio Nord": "ORG"}


def spans(text):
    out = []
    for word, label in ENTITIES.items():
        i = text.find(word)
        if i >= 0:
            out.append({"start": i, "end": i + len(word), "text": word, "labels": [label]})
    return out


def answer(text, sentiment, prefix):
    result = [{"id": f"{prefix}s", "from_name": "sentiment", "to_name": "text", "type": "choices",
               "value": {"choices": [sentiment]}, "origin": "manual"}]
    for j, sp in enumerate(spans(text)):
        result.append({"id": f"{prefix}e{j}", "from_name": "entities", "to_name": "text", "type": "labels",
                       "value": sp, "origin": "manual"})
    return result


def task(i, text, gold, round_no, ann_id):
    t = {"id": 100 + i, "data": {"ext_id": f"rev-{i:03d}", "text": text}, "meta": {}, "annotations": [],
         "predictions": [], "created_at": "2026-10-01T09:00:00.000000Z", "updated_at": "2026-10-01T09:00:00.000000Z",
         "inner_id": i + 1, "total_annotations": 0, "cancelled_annotations": 0, "total_predictions": 0,
         "project": 7, "file_upload": None, "drafts": [], "comment_count": 0, "unresolved_comment_count": 0,
         "last_comment_updated_at": None, "updated_by": [], "comment_authors": []}
    return t


def annotation(ann_id, who, result, created, lead, cancelled=False, ground_truth=False):
    return {"id": ann_id, "completed_by": who, "result": result, "was_cancelled": cancelled,
            "ground_truth": ground_truth, "created_at": created, "updated_at": created, "draft_created_at": None,
            "lead_time": lead, "prediction": {}, "result_count": len(result), "unique_id": f"u-{ann_id}",
            "import_id": None, "last_action": None, "bulk_created": False, "task": None, "project": 7,
            "updated_by": who["id"], "parent_prediction": None, "parent_annotation": None, "last_created_by": None}


def prediction(pid, text, model, score):
    guess = "positive" if any(w in text.lower() for w in ("best", "great", "love", "fast", "helpful", "quick")) \
        else "negative" if any(w in text.lower() for w in ("broke", "crash", "weak", "cheap", "late", "disappoint")) \
        else "neutral"
    return {"id": pid, "model_version": model, "score": score, "result": [
        {"id": f"p{pid}", "from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": [guess]}}], "cluster": None, "neighbors": None, "mislabeling": 0.0,
        "created_at": "2026-10-01T09:00:00.000000Z", "updated_at": "2026-10-01T09:00:00.000000Z",
        "model": None, "model_run": None, "task": None, "project": 7}


def round1():
    tasks, ann_id = [], 1000
    for i, (text, gold) in enumerate(TEXTS[:20]):
        t = task(i, text, gold, 1, ann_id)
        if i < 16:  # 16 labeled by alice; 4 unlabeled
            label = gold if i != 3 else "neutral"  # one mistake, fixed in round 2
            t["annotations"].append(annotation(ann_id, ANNOTATORS[0], answer(text, label, f"r{ann_id}"),
                                               f"2026-10-02T10:{i:02d}:00.000000Z", 12.5 + i))
            ann_id += 1
        if i in (5, 9):  # bob double-labels two tasks
            t["annotations"].append(annotation(ann_id, ANNOTATORS[1], answer(text, gold, f"r{ann_id}"),
                                               f"2026-10-02T11:{i:02d}:00.000000Z", 20.0))
            ann_id += 1
        if i == 17:  # a skip
            t["annotations"].append(annotation(ann_id, ANNOTATORS[1], [], "2026-10-02T11:30:00.000000Z", 3.0,
                                               cancelled=True))
            ann_id += 1
        t["total_annotations"] = len(t["annotations"])
        tasks.append(t)
    return tasks


def round2():
    tasks = round1()
    ann_id = 2000
    for t in tasks:
        i = t["id"] - 100
        text = t["data"]["text"]
        if i == 3:  # reviewer fixes the mistake, as ground truth
            a = t["annotations"][0]
            a["result"] = answer(text, "positive", f"r{a['id']}")
            a["updated_at"] = "2026-10-09T10:00:00.000000Z"
            a["ground_truth"] = True
        if 16 <= i < 20 and i != 17:
            t["annotations"].append(annotation(ann_id, ANNOTATORS[1], answer(text, TEXTS[i][1], f"r{ann_id}"),
                                               f"2026-10-09T12:{i:02d}:00.000000Z", 15.0))
            ann_id += 1
        t["predictions"].append(prediction(5000 + i, text, "sentiment-bert-v1", round(0.55 + (i % 9) / 20, 2)))
        t["total_predictions"] = 1
    for i in range(20, len(TEXTS)):  # new data arrives, labeled by alice
        text, gold = TEXTS[i]
        t = task(i, text, gold, 2, ann_id)
        t["annotations"].append(annotation(ann_id, ANNOTATORS[0], answer(text, gold, f"r{ann_id}"),
                                           f"2026-10-09T13:{i:02d}:00.000000Z", 9.0))
        ann_id += 1
        t["predictions"].append(prediction(5000 + i, text, "sentiment-bert-v1", 0.7))
        tasks.append(t)
    return tasks


(HERE / "round1.json").write_text(json.dumps(round1(), indent=2, ensure_ascii=False) + "\n")
(HERE / "round2.json").write_text(json.dumps(round2(), indent=2, ensure_ascii=False) + "\n")
