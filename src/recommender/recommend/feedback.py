"""What people say about a recommendation: record it, export it, and hand it to training.

One row of the ``feedback`` table (:mod:`recommender.database.db`) is one verdict on one
suggestion: the
focal ``body_code``, the suggested ``partner_code``, the ``service``, the ``verdict`` and an
optional ``comment``, stamped with the ``model_version`` that made the suggestion.

=================  =========================================================================
verdict            meaning, and what the next training can do with it
=================  =========================================================================
interested         the body would consider the partnership: a weak positive label for the
                   pair and service (never a formed arrangement: nothing was agreed)
not_relevant       the suggestion is wrong for a reason the model cannot see (politics, a
                   failed past attempt): a negative label, or a pair to exclude from the
                   candidates of that body and service
already_sharing    the two already share the service: an arrangement missing from the
                   register. Add it (``recommender register import``) so the model learns from
                   it and stops suggesting it as new; :func:`missing_arrangements` lists them
other              read the comment
=================  =========================================================================

How training uses it
--------------------
:func:`training_signals` returns one row per (body, partner, service) with the count of each
verdict and the latest one. Verdicts are opinions, not outcomes: the choice model is fitted on
arrangements that formed, so feedback should not be mixed into that target. Use it to

* evaluate: the share of ``interested`` among the top-k suggestions of each model version
  (``model_version`` says which model was asked) is an online precision to report next to the
  held-out metrics;
* filter: drop ``not_relevant`` pairs from a body's candidates (or down-weight them), and
* grow the register: import the ``already_sharing`` pairs after checking them.

``recommender feedback export --format csv`` writes the raw table for an analyst.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.core.names import closest
from recommender.core.services import check_service
from recommender.database import db
from recommender.reference import lookup as reference
from recommender.register.files import spreadsheet_cell

VERDICTS = db.VERDICTS
COLUMNS = tuple(c.name for c in db.feedback.columns)
EXPORT_FORMATS = ("csv", "json")
MAX_COMMENT = 2000
# The longest text each field may hold: anonymous input is bounded before it is looked at. A
# body or partner is a code or any name (the longest official name is under 80 characters).
MAX_LENGTH = {"body": 200, "partner": 200, "service": 64, "verdict": 32, "comment": MAX_COMMENT,
              "model_version": 64}  # fmt: skip


def record(
    engine: Engine, values: Mapping[str, Any], *, settings: Settings, model_version: str | None
) -> dict[str, Any]:
    """Validate one verdict and store it; return the stored row.

    ``values`` has ``body``, ``partner`` (codes or any names), ``service``, ``verdict`` and
    optionally ``comment`` and ``model_version`` (default: ``model_version``, the one serving;
    otherwise a version in the model registry). Raises :class:`InvalidInput` naming the field
    at fault, or :class:`~recommender.core.errors.UnknownBody` with the closest names; while the
    database is busy (an import writing) it retries, up to a bound
    (:func:`recommender.database.db.write_retrying`).
    """
    row = validate(values, settings=settings, serving=model_version)
    if row["model_version"] is None:
        row["model_version"] = model_version
    row["created_at"] = datetime.now(UTC)

    def insert(conn: sa.Connection) -> Any:
        return conn.execute(sa.insert(db.feedback).values(row)).inserted_primary_key

    # An import may hold SQLite's write lock: wait it out rather than lose the verdict.
    key = db.write_retrying(engine, insert, "the feedback")
    row["id"] = int(key[0]) if key else None
    return _plain(row)


def validate(
    values: Mapping[str, Any], *, settings: Settings, serving: str | None = None
) -> dict[str, Any]:
    """Return the table row for ``values`` or raise naming the first bad field."""
    known = ("body", "partner", "service", "verdict", "comment", "model_version")
    for name in values:
        if name not in known:
            raise InvalidInput(
                f"unknown field {name!r}; expected {', '.join(known)}",
                field=name,
                suggestions=closest(name, known, limit=2),
            )
    text = {name: _text(values, name) for name in known}
    for name in ("body", "partner", "service", "verdict"):
        if not text[name]:
            raise InvalidInput(f"{name!r} is required", field=name)
    verdict = str(text["verdict"])
    if verdict not in VERDICTS:
        raise InvalidInput(
            f"unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}",
            field="verdict",
            suggestions=closest(verdict, VERDICTS, limit=2),
        )
    comment = text["comment"] or ""
    if verdict == "other" and not _visible(comment):  # "Something else (say what below)"
        raise InvalidInput(
            "a verdict of 'other' needs a comment saying what it is (or choose another verdict)",
            field="comment",
        )
    if text["model_version"] is not None:
        _known_version(text["model_version"], serving, settings)
    body = _code(str(text["body"]), "body", settings)
    partner = _code(str(text["partner"]), "partner", settings)
    if partner == body:
        raise InvalidInput("partner is the body itself", field="partner")
    service = _field(lambda: check_service(str(text["service"]), settings), "service")
    return {
        "body_code": body,
        "partner_code": partner,
        "service": service,
        "verdict": verdict,
        "comment": comment,
        "model_version": text["model_version"],
    }


def load(engine: Engine) -> pd.DataFrame:
    """Return every feedback row, oldest first."""
    table = db.feedback
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=list(COLUMNS))


def export(engine: Engine, fmt: str = "csv") -> str:
    """Return every feedback row as ``csv`` or ``json`` text (timestamps in ISO 8601, UTC)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}", field="format"
        )
    rows = [_plain({str(k): v for k, v in r.items()}) for r in load(engine).to_dict("records")]
    if fmt == "json":
        return json.dumps({"feedback": rows}, indent=1, ensure_ascii=False) + "\n"
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    # Comments are anyone's text: a spreadsheet must not run "=HYPERLINK(...)" in one.
    writer.writerows({k: "" if v is None else _cell(v) for k, v in r.items()} for r in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return spreadsheet_cell(value) if isinstance(value, str) else value


def training_signals(engine: Engine) -> pd.DataFrame:
    """Return one row per (body_code, partner_code, service): a count per verdict and the latest.

    The pair keeps its order (the focal body first): a verdict is one body's view of a partner.
    """
    frame = load(engine)
    keys = ["body_code", "partner_code", "service"]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *VERDICTS, "latest", "latest_at"])
    counts = pd.crosstab([frame[k] for k in keys], frame["verdict"]).reindex(
        columns=list(VERDICTS), fill_value=0
    )
    latest = frame.sort_values("id").groupby(keys).tail(1).set_index(keys)
    out = counts.join(latest[["verdict", "created_at"]]).rename(
        columns={"verdict": "latest", "created_at": "latest_at"}
    )
    return out.reset_index().rename_axis(columns=None)


def missing_arrangements(engine: Engine) -> pd.DataFrame:
    """Return the pairs reported ``already_sharing``: candidates to add to the register."""
    signals = training_signals(engine)
    return signals[signals["already_sharing"] > 0].reset_index(drop=True)


def write(text: str, out: Path) -> Path:
    """Write an export to ``out`` atomically."""
    from recommender.register.files import atomic_write

    return atomic_write(out, text)


def _code(value: str, name: str, settings: Settings) -> str:
    return str(_field(lambda: reference.body(value, settings)["code"], name))


def _field(check: Any, name: str) -> Any:
    # The domain names its own field ("name", "service"); here it is the request's field.
    try:
        return check()
    except (InvalidInput, UnknownBody) as err:
        err.field = name
        raise


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name!r} must be a string", field=name)
    if len(value) > MAX_LENGTH[name]:
        raise InvalidInput(f"{name} is over {MAX_LENGTH[name]:,} characters", field=name)
    allowed = "\t\n\r" if name == "comment" else ""
    for char in value:
        # Control characters (C0, DEL, C1) and lone surrogates: not text a person wrote.
        if unicodedata.category(char) in ("Cc", "Cs") and char not in allowed:
            raise InvalidInput(
                f"{name} holds a control character or a lone surrogate ({char!r}): send text",
                field=name,
            )
    return value.strip() or None


def _visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces and invisible format characters (a
    zero-width space is no comment)."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def _known_version(version: str, serving: str | None, settings: Settings) -> None:
    from recommender.model import artifacts

    known = [*artifacts.versions(settings), *([serving] if serving else [])]
    if version not in known:
        raise InvalidInput(
            f"unknown model_version {version!r}; leave it out for the model serving now"
            + (f" ({serving})" if serving else "")
            + ", or give one from `recommender models list`",
            field="model_version",
            suggestions=closest(version, known, limit=2),
        )


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column)
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
        elif isinstance(value, float) and value != value:  # NaN from pandas
            value = None
        elif value is not None and hasattr(value, "item"):  # numpy scalars
            value = value.item()
        out[column] = value
    return out
