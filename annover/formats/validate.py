"""Checking labels against the labeling config: one loop for result items (Label Studio
JSON, predictions, tasks to send), one vectorised check for label columns (flat rows,
annover's Parquet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Union

from annover._lazy import lazy
from annover.errors import InputError, ValidationError
from annover.formats.ls_results import STALE, item_problem, structure_problem
from annover.model.config import Control, LabelingConfig

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["Where", "check_label_column", "check_results", "controls_of"]

#: Where an answer is, for an error message: text, or a function that makes it (only on error).
Where = Union[str, Callable[[], str]]


def check_results(answers: Iterable[tuple[Where, dict]], config: LabelingConfig, hint: str,
                  stale: Callable[[Where, int, str], None] | None = None) -> None:
    """Every result item of ``answers`` allowed by ``config``, read as a snapshot reads it (a Repeater's
    ``labels_0`` is its ``labels_{{idx}}``; results Label Studio writes that label-studio-sdk's schemas
    refuse are checked on their labels): what a snapshot keeps, push sends. Any other item is a
    ValidationError naming the first, with label-studio-sdk's reason (the snapshot's where the SDK sees
    none, or for a Repeater's control). ``stale(where, region, problem)``, when given, is told of an
    item of a control the config lacks (a snapshot keeps those by default) in place of an error."""
    for where, answer in answers:
        result = answer.get("result") if isinstance(answer, dict) else None
        for ri, item in enumerate(result if isinstance(result, list) else ()):
            if not isinstance(item, dict):
                raise InputError(f"{_text(where)}, region {ri}: is not an object", "fix the result")
            problem = item_problem(item, config)
            if problem is not None and problem[0] == STALE and stale is not None:
                stale(where, ri, problem[1])
            elif problem is not None:  # a Repeater's control by its expanded name: the SDK would not know it
                ctl = config.control_for(item.get("from_name"))
                own = structure_problem(item)  # a field missing or of another kind: said so, not in the SDK's Python
                sdk = config.region_errors(item) if own is None and (ctl is None or ctl.name == item.get("from_name")) \
                    else []
                reason = own or (sdk or [problem[1]])[0]
                raise ValidationError(f"{_text(where)}, region {ri} ({item.get('from_name')}): {reason}",
                                      _FIX_RESULT if own else hint)


#: the hint of a result whose fields are missing or of another kind (not a label the config lacks)
_FIX_RESULT = "fix the result: Label Studio's name their control, object and type as text (from_name, to_name, type) " \
              "and hold a value object"


def _text(where: Where) -> str:
    return where() if callable(where) else where


def controls_of(names: Iterable[str | None], config: LabelingConfig | None, source: str,
                validate: bool) -> dict[str | None, Control | None]:
    """Control name -> its control in ``config`` (None without one); an unknown name is refused when validating."""
    out: dict[str | None, Control | None] = {}
    for fn in names:
        ctl = config.controls.get(fn) if config is not None else None  # type: ignore[arg-type]
        if config is not None and ctl is None and validate:
            raise ValidationError(f"{source}: control {fn!r} (column from_name) is not in {config.source}",
                                  "fix from_name or the config, or pass --no-validate")
        out[fn] = ctl
    return out


def check_label_column(flat: "pa.Array", parent: "pa.Array | None", from_name: "pa.Array | None",
                       keys: "pa.ChunkedArray", controls: dict[str | None, Control | None],
                       config: LabelingConfig, source: str) -> None:
    """Every label in its control's list: ValidationError naming the row of the first that is not.

    ``flat`` holds the labels; ``parent`` the row of each (None: one label a row);
    ``from_name`` the control of each row (None: every row is of the one control given).
    """
    fn_flat = None
    for fn, ctl in controls.items():
        if ctl is None or not ctl.labels:
            continue
        bad = pc.invert(pc.is_in(flat, value_set=pa.array(list(ctl.labels), pa.string())))
        if from_name is not None and len(controls) > 1:
            if fn_flat is None:
                fn_flat = from_name if parent is None else pc.take(from_name, parent)
            bad = pc.and_(pc.equal(fn_flat, fn), bad)
        if pc.any(bad).as_py():
            j = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
            row = j if parent is None else int(parent[j].as_py())
            raise ValidationError(
                f"{source}: row {row} (key {keys[row].as_py()}), control {fn!r}: label {flat[j].as_py()!r} "
                f"is not in {config.source} (allowed: {', '.join(ctl.labels)})",
                "fix the label or add it to the config, or pass --no-validate")
