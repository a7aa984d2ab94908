"""The notebook annotator: label a version's tasks (or new texts and images) in Jupyter,
and make the answers a version.

    import annover
    ann = annover.annotate(annover.Repo("."), "v3", only="unlabeled")
    ann                                   # the widget: click or press 1-9, s (skip), u (undo), ←
    ann.save(message="checked the unlabeled ones")

Modules: ``session`` (the state machine and its journal; no widget), ``sources`` (tasks and
labels from a version, texts, images), ``who`` (which of a version's annotators is the person
answering: e-mail in any case, user ids the data maps to it), ``answers`` (answers into a new
version) and ``widget`` (the anywidget view and :func:`annotate`; needs the ``notebook`` extra).
"""

from annover.notebook.session import Answer, Prediction, Session, Task

__all__ = ["Answer", "Prediction", "Session", "Task"]
