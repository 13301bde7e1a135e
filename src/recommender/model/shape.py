"""The shape of a saved model's ``metadata.json``, checked in one place (:func:`check`).

``models list``, ``models show``, ``models compare``, the model page and the held-out
evaluation's verdicts read these fields of a model's metadata. A field of the wrong type (a
``register`` that is null, an ``evaluation`` that is a string, a ranking row without its
``protocol``) once surfaced as an AttributeError, KeyError or a pandas error deep in whichever
reader met it first; now :func:`~recommender.model.artifacts.metadata` refuses it with a
:class:`~recommender.core.errors.ModelError` naming the version, the file, the field and what
was expected, and ``models list`` flags that model and lists the rest.

A field that is missing is left to its reader's default (models saved before it was written);
only a field that is there with the wrong shape is refused. Light on purpose: no pandas, no
scikit-learn (``models list`` imports it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from recommender.core.errors import ModelError

RANK_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")
# A query's ranks among the candidates of the partner's kind alone ("service" + ONE_KIND): the
# list a body asks for with one kind of partner ticked; its pair kinds are the same.
ONE_KIND = "_one_kind"
# Each question of the evaluation (a ranking row's ``query``) as the tables title it.
QUERY_TITLES = {
    "service": "service given",
    "any": "any service (the default list)",
    f"service{ONE_KIND}": "service given, one kind of partner asked",
    f"any{ONE_KIND}": "any service, one kind of partner asked",
}
# The register a model was trained on: counts a list or a comparison formats with ``:,``.
REGISTER_COUNTS = ("arrangements", "real", "simulated", "members")
RANKING_NAMES = ("protocol", "query", "pair_kind", "method")
SAVINGS_NAMES = ("protocol", "subset", "method")
SAVINGS_FIGURES = ("mae_log", "coverage80")

_MISSING = object()
Test = Callable[[Any], bool]


class _Refused(Exception):
    """A field of the wrong shape: where it is, its value and what was expected."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(field)
        self.field, self.value, self.expected = field, value, expected


def check(version: str, path: Path, meta: Mapping[str, Any]) -> None:
    """Check the fields of ``meta`` (the metadata of ``version``, read from ``path``) that the
    model commands and pages read; raise :class:`ModelError` naming the first one of the wrong
    shape (``field`` its dotted place, e.g. ``evaluation.ranking[3].protocol``)."""
    try:
        _check(meta)
    except _Refused as err:
        value = "missing" if err.value is _MISSING else shown(err.value)
        raise ModelError(
            f"model {version}: {path}: field {err.field!r} is {value}; expected "
            f"{err.expected}. The metadata was edited or damaged: restore it, or delete the "
            "model's folder",
            field=err.field,
        ) from None


def _check(meta: Mapping[str, Any]) -> None:
    # What every saved model's metadata has: without it `models show` said "version None" and
    # read an emptied file as a model trained with no evaluation. (A checksum missing is the
    # loader's to refuse: ChecksumMismatch.)
    _must(meta.get("version", _MISSING), "version", _is_text, "the model's version (a string)")
    _optional(meta, "created_at", "", _is_text, "a timestamp (a string)")
    register = _optional(meta, "register", "", _is_object, "an object")
    if register is not None:
        _optional(register, "hash", "register.", _is_text, "a string")
        for name in REGISTER_COUNTS:
            _optional(register, name, "register.", _is_count, "a whole number, 0 or more")
    _optional(meta, "versions", "", _is_object, "an object (library: version)")
    summary = _optional(meta, "summary", "", _is_object, "an object")
    for where, figures in (summary or {}).items():
        place = f"summary.{where}"
        _must(figures, place, _is_object, "an object (metric: figure)")
        for metric, figure in figures.items():
            _must(figure, f"{place}.{metric}", _is_figure, "a number or null")
    evaluation = meta.get("evaluation")
    if evaluation is None:  # missing or null: not evaluated
        return
    _must(evaluation, "evaluation", _is_object, "an object (ranking, savings, notes) or null")
    _rows(evaluation, "ranking", RANKING_NAMES, (*RANK_METRICS,), ("arrangements",))
    for i, row in enumerate(evaluation.get("ranking") or []):
        gaps = row.get("model_minus")  # null: no interval (a single arrangement)
        if gaps is None:
            continue
        _must(gaps, f"evaluation.ranking[{i}].model_minus", _is_object, "an object or null")
        for metric, interval in gaps.items():
            _must(
                interval,
                f"evaluation.ranking[{i}].model_minus.{metric}",
                _is_interval,
                "a [low, high] pair of numbers",
            )
    _rows(evaluation, "savings", SAVINGS_NAMES, SAVINGS_FIGURES, ("n",))
    _optional(evaluation, "notes", "evaluation.", _is_object, "an object")


def _rows(
    evaluation: Mapping[str, Any],
    table: str,
    names: tuple[str, ...],
    figures: tuple[str, ...],
    counts: tuple[str, ...],
) -> None:
    """Check ``evaluation[table]``: a list of objects, each with ``names`` (strings),
    ``figures`` (numbers or null) and ``counts`` (whole numbers)."""
    rows = _optional(evaluation, table, "evaluation.", _is_list, "a list of rows (objects)")
    for i, row in enumerate(rows or []):
        place = f"evaluation.{table}[{i}]"
        _must(row, place, _is_object, "an object")
        for name in names:
            _must(row.get(name, _MISSING), f"{place}.{name}", _is_text, "a string")
        for name in figures:
            _must(row.get(name, _MISSING), f"{place}.{name}", _is_figure, "a number or null")
        for name in counts:
            _must(row.get(name, _MISSING), f"{place}.{name}", _is_count, "a whole number")


def _optional(
    parent: Mapping[str, Any], name: str, prefix: str, ok: Test, expected: str
) -> Any | None:
    """``parent[name]`` once checked, or None when it is missing."""
    if name not in parent:
        return None
    value = parent[name]
    _must(value, prefix + name, ok, expected)
    return value


def _must(value: Any, field: str, ok: Test, expected: str) -> None:
    if value is _MISSING or not ok(value):
        raise _Refused(field, value, expected)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_figure(value: Any) -> bool:
    # NaN is saved as null (evaluation._records); a bool is not a figure.
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _is_interval(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def shown(value: Any, limit: int = 80) -> str:
    """``value`` as a message about a JSON file quotes it (as JSON: ``null``, ``"many"``): whole,
    or its start (a huge field is not read back whole)."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
