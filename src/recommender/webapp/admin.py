"""Admin routes: reload, promote or roll back a model, import a register file. Bearer token;
audited.

The operator turns these on by setting ``RECOMMENDER_ADMIN_TOKEN``; without it every admin
route answers 403 ``admin_disabled``. A request must send ``Authorization: Bearer <token>``,
compared in constant time; a missing or wrong token gets 401. Every action is written to the
``audit_log`` table (:mod:`recommender.database.audit`) with the token's fingerprint, and so are
refusals, at most one row per client per ``AUDIT_REFUSAL_SECONDS``
(:class:`~recommender.webapp.guards.RefusalThrottle`): the next row counts those not written.

A reload, promotion or rollback that cannot load the model (checksum mismatch, library
versions, no promoted model, or a model that passes those checks but fails to unpickle or to
answer a first query) answers 409 ``reload_failed`` and leaves the current model serving; a
promotion or rollback loads and checks the model before it writes the registry, so a failed one
leaves the registry as it was. The registry is shared: the worker that answers serves the
model once it has prepared it (the call answers then: tens of seconds under full load), every
other worker and replica within ``MODEL_CHECK_SECONDS``, a model load and its preparation
(:mod:`recommender.webapp.state`); the current model answers meanwhile.
"""

from __future__ import annotations

import hmac
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from werkzeug.utils import secure_filename

from recommender.core.errors import AuthError, InvalidInput, RecommenderError
from recommender.database import audit
from recommender.register import records as reg
from recommender.register.files import parse_columns, parse_fill
from recommender.webapp import openapi
from recommender.webapp.api import json_body, json_response
from recommender.webapp.config import admin_token
from recommender.webapp.errors import AdminDisabled
from recommender.webapp.guards import client_address
from recommender.webapp.params import Param, parse
from recommender.webapp.state import state

bp = Blueprint("admin", __name__, url_prefix=openapi.PREFIX + "/admin")
F = TypeVar("F", bound=Callable[..., Response])
ADMIN_ERRORS = (400, 401, 403, 413)
DRY_RUN = Param("dry_run", "boolean", "Validate and report; write nothing.", default=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_PARAMS = (
    DRY_RUN,
    Param("columns", "string", "Which field each of the file's columns holds, for a file in "
          "another tool's layout: 'File column=field; …' (e.g. 'Councils involved=partners').",
          default=None),
    Param("fill", "string", "A field's value for every row that leaves it empty: 'field=value; "
          "…' (e.g. 'savings_basis=annual'; a figure's basis and years go only to the rows that "
          "give a figure).", default=None),
    Param("sheet", "string", "The workbook's sheet to read (an .xlsx file; the first by "
          "default).", default=None),
)  # fmt: skip
UPLOAD_TYPES = (
    "multipart/form-data",
    ("text/csv", "RegisterCsv"),
    ("application/json", "RegisterJson"),
    (XLSX, "RegisterWorkbook"),
)
SUFFIXES = {"text/csv": ".csv", "application/json": ".json", XLSX: ".xlsx"}


def admin_action(action: str) -> Callable[[F], F]:
    """Check the bearer token, then run the view; audit the outcome either way."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            engine = state().engine
            presented = _presented_token()
            who = audit.actor(presented)
            try:
                _check(presented)
            except AuthError as err:
                # One row per client per AUDIT_REFUSAL_SECONDS: guessing must not fill the log.
                skipped = state().refusals.admit(client_address())
                if skipped is not None:
                    detail: dict[str, Any] = {"reason": err.error}
                    if skipped:
                        detail["refusals_not_logged_before"] = skipped
                    audit.write(engine, action, who, "refused", detail)
                raise
            g.audit_detail = {}
            try:
                response = view(*args, **kwargs)
            except RecommenderError as err:
                detail = g.audit_detail | {"error": err.error, "detail": err.detail}
                audit.write(engine, action, who, "failed", detail)
                raise
            except Exception as err:
                audit.write(engine, action, who, "failed", g.audit_detail | {"error": repr(err)})
                raise
            audit.write(engine, action, who, "ok", g.audit_detail)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


@bp.post("/reload")
@openapi.operation("Load the promoted model again, prepare it and serve it (no request is "
                   "dropped; the current model answers until then).",
                   tag="admin", response="ModelSwap", errors=(*ADMIN_ERRORS, 409),
                   admin=True)  # fmt: skip
@admin_action("reload")
def reload() -> Response:
    """Reload the promoted model."""
    parse(())
    current = state()
    previous, version = current.models.reload()
    current.cache.clear()
    current.briefings.clear()
    g.audit_detail = {"previous": previous, "model_version": version}
    return json_response({"action": "reload", "previous": previous, "model_version": version})


@bp.post("/promote")
@openapi.operation("Promote a saved model version and serve it.", tag="admin",
                   response="ModelSwap", body="Promote", errors=(*ADMIN_ERRORS, 404, 409),
                   admin=True)  # fmt: skip
@admin_action("promote")
def promote() -> Response:
    """Promote a model version."""
    parse(())
    values = json_body()
    version = values.get("version")
    if not isinstance(version, str) or not version.strip():
        raise InvalidInput("'version' is required: a version from `recommender models list`",
                           field="version")  # fmt: skip
    current = state()
    g.audit_detail = {"version": version}
    previous, serving = current.models.promote(version.strip())  # loads before the registry
    current.cache.clear()
    current.briefings.clear()
    g.audit_detail |= {"previous": previous, "model_version": serving}
    return json_response({"action": "promote", "previous": previous, "model_version": serving})


@bp.post("/rollback")
@openapi.operation("Promote the model that served before the current one and serve it.",
                   tag="admin", response="ModelSwap", errors=(*ADMIN_ERRORS, 409),
                   admin=True)  # fmt: skip
@admin_action("rollback")
def rollback() -> Response:
    """Roll back to the previous model."""
    parse(())
    current = state()
    previous, serving = current.models.rollback()  # loads before the registry changes
    current.cache.clear()
    g.audit_detail = {"previous": previous, "model_version": serving}
    return json_response({"action": "rollback", "previous": previous, "model_version": serving})


@bp.post("/register/import")
@openapi.operation("Import a register file (multipart field 'file', or a CSV, JSON or .xlsx "
                   "body), in one transaction.", tag="admin", response="ImportReport",
                   params=IMPORT_PARAMS, body="RegisterUpload", body_types=UPLOAD_TYPES,
                   errors=(*ADMIN_ERRORS, 413, 415, 422), admin=True)  # fmt: skip
@admin_action("register_import")
def import_register() -> Response:
    """Import a register file."""
    args = parse(IMPORT_PARAMS)
    current = state()
    columns = parse_columns(args["columns"]) if args["columns"] else None
    fill = parse_fill(args["fill"]) if args["fill"] else None
    name, data = _upload()
    g.audit_detail = {"file": name, "bytes": len(data), "dry_run": args["dry_run"]}
    g.audit_detail |= {k: args[k] for k in ("columns", "fill", "sheet") if args[k]}
    with tempfile.TemporaryDirectory(prefix="recommender-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        report = reg.import_file(
            path,
            dry_run=args["dry_run"],
            settings=current.settings,
            directory=current.directory,
            columns=columns,
            sheet=args["sheet"],
            fill=fill,
        )
    out = report.to_dict() | {"path": name, "register_size": current.register_size.refresh()}
    g.audit_detail |= {"added": report.added, "duplicates": report.duplicates}
    return json_response(out, status=200)


def _upload() -> tuple[str, bytes]:
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("send the register file in the multipart field 'file'",
                               field="file")  # fmt: skip
        name = secure_filename(upload.filename or "") or "upload.csv"
        if Path(name).suffix.lower() not in (*SUFFIXES.values(), ".xls", ".ods"):
            name += ".csv"  # (an .xls or .ods file keeps its name: refused, saying as what)
        return name, upload.read()
    if mimetype in SUFFIXES:
        return "upload" + SUFFIXES[mimetype], request.get_data(cache=False)
    raise UnsupportedUpload(
        f"unsupported Content-Type {mimetype or '(none)'!r}; send multipart/form-data with a "
        f"'file' field, or the file itself as {', '.join(SUFFIXES)}",
        field="file",
    )


class UnsupportedUpload(InvalidInput):
    status = 415
    error = "unsupported_media_type"


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _check(presented: str | None) -> None:
    expected = admin_token(current_app.config)
    if expected is None:
        raise AdminDisabled(
            "admin routes are off: the operator has not set RECOMMENDER_ADMIN_TOKEN",
            field="Authorization",
        )
    if presented is None:
        raise AuthError("send Authorization: Bearer <admin token>", field="Authorization")
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise AuthError("the admin token is wrong", field="Authorization")
