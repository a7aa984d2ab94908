"""A model's prediction of no label for a classification control (a result naming the control with
no choice, ``{"choices": []}``: a multi-label classifier that found none of its classes) is a
prediction, of the empty set, scored against the labels; it was counted as no prediction at all
("labeled, not predicted"), so a model that answered "none" where the labels had some was never wrong."""

from __future__ import annotations

from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from annover.loop.evaluate import compare_models, evaluate

from .test_loop import answers_table, predictions_table

TRUE = {"t1": ["a"], "t2": ["a", "b"], "t3": ["b"], "t4": ["c"]}
PRED = {"t1": ["a"], "t2": [], "t3": [], "t4": ["c", "a"]}


def _tables():
    ann = answers_table([{"task": t, "who": "ann", "labels": labs} for t, labs in TRUE.items()])
    preds = predictions_table([{"task": t, "model": m, "labels": labs, "score": 0.7}
                               for t, labs in PRED.items() for m in ("m1", "m2")])
    return ann, preds


def test_a_prediction_of_no_label_is_scored_as_scikit_learn_scores_the_empty_set():
    ann, preds = _tables()
    e = evaluate(ann, preds, "m1").to_json()["controls"]["ctl"]
    assert (e["tasks"], e["labeled_not_predicted"], e["predicted_not_labeled"]) == (4, 0, 0)
    mlb = MultiLabelBinarizer(classes=["a", "b", "c"])
    y_true, y_pred = mlb.fit_transform(TRUE.values()), mlb.transform(PRED.values())
    assert e["accuracy"] == round(accuracy_score(y_true, y_pred), 6) == 0.25
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    for i, lab in enumerate(mlb.classes_):
        assert e["labels"][lab]["recall"] == round(r[i], 6) and e["labels"][lab]["f1"] == round(f[i], 6)
    labels, matrix = e["confusion"]["labels"], e["confusion"]["matrix"]
    assert matrix[labels.index("a, b")][labels.index("(none)")] == 1
    assert matrix[labels.index("b")][labels.index("(none)")] == 1
    # two models that both said "none" on a task give the same label there
    assert compare_models(ann, preds, "m1", "m2")["agreement"]["ctl"] == {"tasks": 4, "same": 4, "rate": 1.0}


def test_an_empty_result_is_no_prediction_of_a_choice_and_a_note_says_how_to_give_one():
    ann = answers_table([{"task": t, "who": "ann", "labels": ["a"]} for t in ("t1", "t2")])
    preds = predictions_table([{"task": "t1", "model": "m", "labels": ["a"]},
                               {"task": "t2", "model": "m", "labels": None, "control": None}])
    res = evaluate(ann, preds, "m").to_json()
    assert res["controls"]["ctl"]["labeled_not_predicted"] == 1
    assert any(n.startswith("1 task(s) the model predicted with an empty result are not scored on ctl") and
               '"choices": []' in n for n in res["notes"])
