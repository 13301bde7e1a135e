"""Admin routes: token refusal, audit rows, reload, promote, broken models, register import."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from model_fixtures import RENAMED_CLASS_PICKLE, with_artifact
from recommender.core.config import Settings
from recommender.database import audit
from recommender.model import artifacts
from service_fixtures import TOKEN, AppFactory, auth, build_app

ADMIN_POSTS = [
    "/api/v1/admin/reload",
    "/api/v1/admin/promote",
    "/api/v1/admin/rollback",
    "/api/v1/admin/register/import",
]


def _audit(app: Flask) -> list[dict[str, object]]:
    return audit.entries(app.extensions["recommender"].engine)


def _versions(app: Flask) -> list[str]:
    return artifacts.versions(app.extensions["recommender"].settings)


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_admin_off_without_a_token_configured(make_app: AppFactory, path: str) -> None:
    app = make_app()
    response = app.test_client().post(path, headers=auth())
    assert response.status_code == 403
    assert response.json["error"] == "admin_disabled"
    assert "RECOMMENDER_ADMIN_TOKEN" in response.json["detail"]
    (entry,) = _audit(app)
    assert entry["outcome"] == "refused" and entry["detail"] == {"reason": "admin_disabled"}


@pytest.mark.parametrize("path", ADMIN_POSTS)
@pytest.mark.parametrize(
    ("headers", "actor"),
    [
        ({}, "anonymous"),
        ({"Authorization": "Bearer wrong"}, audit.actor("wrong")),
        ({"Authorization": f"Basic {TOKEN}"}, "anonymous"),
        ({"Authorization": f"Bearer {TOKEN}x"}, audit.actor(TOKEN + "x")),
    ],
)
def test_wrong_or_missing_token_is_401_and_audited(
    make_app: AppFactory, path: str, headers: dict[str, str], actor: str
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    version = app.extensions["recommender"].models.version
    response = app.test_client().post(path, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    (entry,) = _audit(app)
    assert entry["outcome"] == "refused" and entry["actor"] == actor
    assert TOKEN not in str(entry)
    assert app.extensions["recommender"].models.version == version


@pytest.mark.parametrize(
    "token",
    [
        "1234567890123456789012345e0",  # JSON: a float, 1.2345678901234568e+24
        '"quoted-admin-token-1234567890"',  # JSON: the string without its quotes
        "123456789012345678901234567890",  # JSON: an int
    ],
)
def test_the_token_from_the_environment_is_read_as_a_plain_string(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("RECOMMENDER_ADMIN_TOKEN", token)
    app = make_app()
    assert app.config["ADMIN_TOKEN"] == token
    response = app.test_client().post("/api/v1/admin/reload", headers=auth(token))
    assert response.status_code == 200


def test_reload_with_the_right_token(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    version = app.extensions["recommender"].models.version
    response = app.test_client().post("/api/v1/admin/reload", headers=auth())
    assert response.status_code == 200
    assert response.json == {"action": "reload", "previous": version, "model_version": version}
    (entry,) = _audit(app)
    fingerprint = hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
    assert entry["actor"] == f"token:{fingerprint}"
    assert entry["action"] == "reload" and entry["outcome"] == "ok"
    assert entry["detail"] == {"previous": version, "model_version": version}


def test_promote_swaps_the_model_and_the_registry(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    first, second = _versions(app)
    assert client.get("/api/v1/health").json["model_version"] == first
    response = client.post("/api/v1/admin/promote", json={"version": second}, headers=auth())
    assert response.status_code == 200, response.json
    assert response.json == {"action": "promote", "previous": first, "model_version": second}
    assert client.get("/api/v1/health").json["model_version"] == second
    rec = client.get("/api/v1/bodies/Rother/recommendations?k=1").json
    assert rec["model_version"] == second
    assert artifacts.promoted_version(app.extensions["recommender"].settings) == second
    assert _audit(app)[0]["detail"] == {"version": second, "previous": first,
                                         "model_version": second}  # fmt: skip


def test_rollback_swaps_back_to_the_previous_model(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first, second = _versions(app)
    assert client.post("/api/v1/admin/promote", json={"version": second},
                       headers=auth()).status_code == 200  # fmt: skip
    response = client.post("/api/v1/admin/rollback", headers=auth())
    assert response.status_code == 200, response.json
    assert response.json == {"action": "rollback", "previous": second, "model_version": first}
    assert client.get("/api/v1/bodies/Rother/recommendations?k=1").json["model_version"] == first
    assert json.loads((settings.models / artifacts.REGISTRY).read_text()) == {
        "promoted": first,
        "history": [],
    }
    entry = _audit(app)[0]
    assert entry["action"] == "rollback" and entry["outcome"] == "ok"
    assert entry["detail"] == {"previous": second, "model_version": first}
    # Nothing left to roll back to: 409, still serving.
    response = client.post("/api/v1/admin/rollback", headers=auth())
    assert response.status_code == 409 and response.json["error"] == "reload_failed"
    assert "nothing to roll back to" in response.json["detail"]
    assert response.json["model_version"] == first
    assert client.get("/api/v1/health").json["model_version"] == first


def test_a_rollback_names_the_registrys_previous_model_not_the_workers(
    make_app: AppFactory,
) -> None:
    """A worker that has not yet followed a promotion made elsewhere answered a rollback with
    its own model as "previous"; the model the rollback replaced is the registry's."""
    app = make_app(ADMIN_TOKEN=TOKEN, MODEL_CHECK_SECONDS=3600)  # follows nothing meanwhile
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first, second = _versions(app)
    assert client.get("/api/v1/health").json["model_version"] == first
    artifacts.promote(second, settings)  # by another worker, replica or the CLI
    response = client.post("/api/v1/admin/rollback", headers=auth())
    assert response.status_code == 200, response.json
    assert response.json == {"action": "rollback", "previous": second, "model_version": first}


def test_rollback_to_a_model_that_does_not_load_is_409_and_changes_nothing(
    make_app: AppFactory,
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first = artifacts.promoted_version(settings)
    broken = _unloadable(app)
    registry = settings.models / artifacts.REGISTRY
    registry.write_text(json.dumps({"promoted": first, "history": [broken]}))
    before = registry.read_bytes()
    response = client.post("/api/v1/admin/rollback", headers=auth())
    assert response.status_code == 409, response.json
    assert response.json["cause"] == "model_load_failed"
    assert registry.read_bytes() == before
    assert client.get("/api/v1/bodies/Rother/recommendations?k=1").json["model_version"] == first


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({}, 400, "version"), ({"version": 7}, 400, "version"),
     ({"version": "20990101-000000"}, 404, "version")],
)  # fmt: skip
def test_promote_bad_version(
    make_app: AppFactory, body: dict[str, object], status: int, field: str
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    response = app.test_client().post("/api/v1/admin/promote", json=body, headers=auth())
    assert response.status_code == status
    assert response.json["field"] == field
    assert _audit(app)[0]["outcome"] == "failed"


def _damage(app: Flask, version: str) -> None:
    artifact = app.extensions["recommender"].settings.models / version / artifacts.ARTIFACT
    with artifact.open("ab") as handle:
        handle.write(b"tampered")


def test_broken_model_on_promote_keeps_the_current_one(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    first, second = _versions(app)
    _damage(app, second)
    response = client.post("/api/v1/admin/promote", json={"version": second}, headers=auth())
    assert response.status_code == 409
    assert response.json["error"] == "reload_failed"
    assert response.json["cause"] == "checksum_mismatch"
    assert f"still serving model {first}" in response.json["detail"]
    assert client.get("/api/v1/health").json["model_version"] == first
    assert client.get("/api/v1/bodies/Rother/recommendations").status_code == 200
    assert artifacts.promoted_version(app.extensions["recommender"].settings) == first
    entry = _audit(app)[0]
    assert entry["outcome"] == "failed" and entry["detail"]["error"] == "reload_failed"


def test_broken_model_on_reload_keeps_the_current_one(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    first = app.extensions["recommender"].models.version
    _damage(app, first)
    response = client.post("/api/v1/admin/reload", headers=auth())
    assert response.status_code == 409
    assert response.json["cause"] == "checksum_mismatch"
    assert response.json["model_version"] == first
    assert client.get("/api/v1/bodies/Rother/recommendations?k=2").status_code == 200


def _unloadable(app: Flask) -> str:
    """Add a version that passes its checksum but does not unpickle (a class renamed)."""
    models = app.extensions["recommender"].settings.models
    return with_artifact(models, artifacts.versions(app.extensions["recommender"].settings)[0],
                         RENAMED_CLASS_PICKLE)  # fmt: skip


def test_promote_of_a_model_that_does_not_load_is_409_and_changes_nothing(
    make_app: AppFactory,
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first = artifacts.promoted_version(settings)
    registry = (settings.models / artifacts.REGISTRY).read_bytes()
    broken = _unloadable(app)
    response = client.post("/api/v1/admin/promote", json={"version": broken}, headers=auth())
    assert response.status_code == 409, response.json
    assert response.json["error"] == "reload_failed"
    assert response.json["cause"] == "model_load_failed"
    assert "AttributeError" in response.json["detail"]
    assert f"still serving model {first}" in response.json["detail"]
    assert (settings.models / artifacts.REGISTRY).read_bytes() == registry
    assert client.get("/api/v1/bodies/Rother/recommendations?k=1").json["model_version"] == first
    assert _audit(app)[0]["detail"]["error"] == "reload_failed"


def test_reload_of_a_promoted_model_that_does_not_load_is_409(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first = artifacts.promoted_version(settings)
    broken = _unloadable(app)
    (settings.models / artifacts.REGISTRY).write_text(
        json.dumps({"promoted": broken, "history": [first]})
    )
    response = client.post("/api/v1/admin/reload", headers=auth())
    assert response.status_code == 409
    assert response.json["cause"] == "model_load_failed"
    assert response.json["model_version"] == first
    assert client.get("/api/v1/bodies/Rother/recommendations?k=1").status_code == 200


@pytest.mark.parametrize("promoted", ["unloadable", "20990101-000000"])
def test_the_service_starts_degraded_when_the_promoted_model_does_not_load(
    trained_settings: Settings, service_models: Path, tmp_path: Path, promoted: str
) -> None:
    models = tmp_path / "models"
    shutil.copytree(service_models, models)
    first = artifacts.versions(trained_settings.with_(models_dir=models))[0]
    if promoted == "unloadable":
        promoted = with_artifact(models, first, RENAMED_CLASS_PICKLE)
    (models / artifacts.REGISTRY).write_text(json.dumps({"promoted": promoted, "history": []}))
    app = build_app(tmp_path / "app", trained_settings, models)
    client = app.test_client()
    health = client.get("/api/v1/health").json
    assert health["state"] == "degraded" and health["model_version"] is None
    assert promoted in health["problem"]
    assert str(app.extensions["recommender"].settings.models) not in health["problem"]
    response = client.get("/api/v1/bodies/Rother/recommendations")
    assert response.status_code == 503 and promoted in response.json["detail"]


REGISTER_CSV = (
    "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
    "savings_basis,savings_period_years,source_url,note\n"
    "Rother and Hastings legal,Rother; Hastings,council; council,legal,2015,50000,annual,,"
    "https://example.org/rh,\n"
)


def test_import_register_multipart_dry_run_then_for_real(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    size = client.get("/api/v1/health").json["register_size"]

    def upload(query: str = "") -> dict[str, object]:
        data = {"file": (io.BytesIO(REGISTER_CSV.encode()), "new.csv")}
        response = client.post(f"/api/v1/admin/register/import{query}", data=data,
                               headers=auth(), content_type="multipart/form-data")  # fmt: skip
        assert response.status_code == 200, response.json
        return response.json  # type: ignore[no-any-return]

    dry = upload("?dry_run=true")
    assert dry["dry_run"] is True and dry["added"] == 1 and dry["register_size"] == size
    done = upload()
    assert done["added"] == 1 and done["register_size"] == size + 1
    assert client.get("/api/v1/health").json["register_size"] == size + 1
    (new_id,) = done["ids"]  # type: ignore[misc]
    shown = client.get(f"/api/v1/arrangements/{new_id}").json
    assert shown["name"] == "Rother and Hastings legal"
    again = upload()
    assert again["added"] == 0 and again["duplicates"] == 1
    actions = [(e["action"], e["outcome"], e["detail"]["dry_run"]) for e in _audit(app)]
    assert actions == [("register_import", "ok", False)] * 2 + [("register_import", "ok", True)]


def test_import_register_as_a_csv_body(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    response = app.test_client().post("/api/v1/admin/register/import", data=REGISTER_CSV,
                                      headers=auth(), content_type="text/csv")  # fmt: skip
    assert response.status_code == 200 and response.json["added"] == 1


def test_import_register_as_a_workbook_in_another_layout(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """An .xlsx workbook, as a body or a multipart file, read through a column mapping; a bad
    mapping is a 400 naming the parameter, and nothing is written."""
    from recommender.webapp.admin import XLSX
    from test_register_workbook import MAPPING, THEIR_HEADER, THEIR_ROWS, workbook

    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    size = client.get("/api/v1/health").json["register_size"]
    book = workbook(tmp_path / "theirs.xlsx", THEIR_HEADER, THEIR_ROWS).read_bytes()
    url = "/api/v1/admin/register/import?" + urlencode({"columns": MAPPING})
    bad = client.post(url.replace("partners", "partner"), data=book, headers=auth(),
                      content_type=XLSX)  # fmt: skip
    assert bad.status_code == 400 and bad.json["field"] == "columns"
    assert "partners" in bad.json["suggestions"]
    done = client.post(url, data=book, headers=auth(), content_type=XLSX)
    assert done.status_code == 200, done.json
    assert (done.json["layout"], done.json["added"]) == ("project", 2)
    assert done.json["register_size"] == size + 2
    shown = client.get(f"/api/v1/arrangements/{done.json['ids'][0]}").json
    assert (shown["name"], shown["start_year"]) == ("Rother and Hastings legal", 2015)
    data = {"file": (io.BytesIO(book), "theirs.xlsx")}
    again = client.post(url, data=data, headers=auth(), content_type="multipart/form-data")
    assert (again.json["added"], again.json["duplicates"]) == (0, 2)
    assert _audit(app)[0]["detail"]["columns"] == MAPPING  # how the file was read, kept
    data = {"file": (io.BytesIO(b"PK\x03\x04 an OpenDocument sheet"), "theirs.ods")}
    ods = client.post(url, data=data, headers=auth(), content_type="multipart/form-data")
    assert ods.status_code == 422 and "save it as an Excel Workbook (.xlsx)" in ods.json["detail"]
    sheet = client.post(url + "&sheet=Other", data=book, headers=auth(), content_type=XLSX)
    assert sheet.status_code == 400 and sheet.json["field"] == "sheet"
    fill = client.post(url + "&fill=basis%3Dannual", data=book, headers=auth(), content_type=XLSX)
    assert fill.status_code == 400 and fill.json["field"] == "fill"
    assert client.get("/api/v1/health").json["register_size"] == size + 2
    document = client.get("/api/v1/openapi.json").json["paths"]["/admin/register/import"]["post"]
    assert {"columns", "fill", "sheet"} <= {p["name"] for p in document["parameters"]}
    bodies = document["requestBody"]["content"]
    assert bodies[XLSX]["schema"]["$ref"].endswith("/RegisterWorkbook")
    assert bodies["text/csv"]["schema"]["$ref"].endswith("/RegisterCsv")


def test_a_chunked_upload_over_the_limit_is_refused_not_cut_short(make_app: AppFactory) -> None:
    """A register sent in chunks (no Content-Length) over MAX_CONTENT_LENGTH is a 413 and adds
    nothing; before, it was cut at the limit and its first rows imported as if whole."""
    app = make_app(ADMIN_TOKEN=TOKEN, MAX_CONTENT_LENGTH=len(REGISTER_CSV) + 10)
    client = app.test_client()
    size = client.get("/api/v1/health").json["register_size"]

    def send(text: str) -> dict[str, object]:
        headers = auth() | {"Transfer-Encoding": "chunked", "Content-Type": "text/csv"}
        environ = EnvironBuilder("/api/v1/admin/register/import", method="POST",
                                 headers=headers).get_environ()  # fmt: skip
        assert "CONTENT_LENGTH" not in environ  # none: the server decodes chunks to the end
        environ |= {"wsgi.input": io.BytesIO(text.encode()), "wsgi.input_terminated": True}
        body, status, _ = run_wsgi_app(app, environ, buffered=True)  # as gunicorn calls it
        return {"status": int(status.split()[0])} | json.loads(b"".join(body))

    second = REGISTER_CSV.splitlines()[1].replace("Rother and Hastings", "Rother and Wealden")
    over = send(REGISTER_CSV + second.replace("Hastings", "Wealden") + "\n")
    assert over["status"] == 413 and over["error"] == "request_entity_too_large", over
    limit = f"{len(REGISTER_CSV) + 10:,} bytes"
    assert over["detail"] == f"the request body is over the {limit} this accepts"
    assert client.get("/api/v1/health").json["register_size"] == size
    whole = send(REGISTER_CSV)
    assert whole["status"] == 200 and whole["added"] == 1


def test_an_imported_partnership_is_no_longer_suggested(make_app: AppFactory) -> None:
    """The model suggested a pair the register had since been told already shares the service
    ("already a partner: no" beside the register's own listing); now its answers follow the
    register within a check (MODEL_CHECK_SECONDS), for both bodies, without a retrain."""
    app = make_app(ADMIN_TOKEN=TOKEN, MODEL_CHECK_SECONDS=0)
    client = app.test_client()
    url = "/api/v1/bodies/{}/recommendations?k=50&service={}"
    first = client.get("/api/v1/bodies/Rother/recommendations?k=1").json
    rother, top = first["body"]["code"], first["recommendations"][0]
    partner, service = top["partner_code"], top["service"]
    assert partner in {r["partner_code"] for r in client.get(url.format("Rother", service)).json[
        "recommendations"]}  # fmt: skip
    register = (
        "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
        "savings_basis,savings_period_years,source_url,note\n"
        f"Rother and {top['partner_name']},Rother; {partner},council; {top['partner_kind']},"
        f"{service},2025,,,,https://example.org/new,\n"
    )
    done = client.post("/api/v1/admin/register/import", data=register, headers=auth(),
                       content_type="text/csv")  # fmt: skip
    assert done.status_code == 200 and done.json["added"] == 1, done.json
    after = client.get(url.format("Rother", service))
    assert after.headers["X-Cache"] == "miss"  # not the answer from before the import
    assert partner not in {r["partner_code"] for r in after.json["recommendations"]}
    theirs = client.get(url.format(partner, service)).json["recommendations"]
    assert rother not in {r["partner_code"] for r in theirs}


def test_an_arrangement_deleted_from_the_register_is_cited_no_more(make_app: AppFactory) -> None:
    """`recommender register remove` (a wrong row) while the service runs: its answers, its
    pages' and the briefing's evidence, cited the deleted arrangement until a retrain. They
    follow the register within a check, as for an import."""
    from recommender.register import records

    app = make_app(MODEL_CHECK_SECONDS=0)
    client = app.test_client()
    url = "/api/v1/bodies/Rother/recommendations?k=5"
    cited = client.get(url).json["recommendations"][0]["evidence"][0]
    assert cited["id"] in client.get("/bodies/E07000064").text
    records.remove([cited["id"]], settings=app.extensions["recommender"].settings)
    after = client.get(url)
    assert after.headers["X-Cache"] == "miss"  # not the answer from before the removal
    shown = after.json["recommendations"]
    assert shown[0]["evidence"] and all(
        e["id"] != cited["id"] for r in shown for e in r["evidence"]
    )
    assert cited["id"] not in client.get("/bodies/E07000064").text
    assert client.get(f"/api/v1/arrangements/{cited['id']}").status_code == 404


def test_a_history_deleted_from_the_register_is_said_no_more(make_app: AppFactory) -> None:
    """`recommender register remove` of the wrong arrangements linking two bodies while the
    service runs: its reasons still said the partner "already works with" the body on their
    services (documented arrangements) until a retrain."""
    from recommender.register import records

    app = make_app(MODEL_CHECK_SECONDS=0)
    client = app.test_client()
    url = "/api/v1/bodies/Rother/recommendations?k=50"

    def said(partner: str) -> list[str]:
        return [x["text"] for r in client.get(url).json["recommendations"]
                if r["partner_code"] == partner for x in r["reasons"]
                if x["factor"] == "history"]  # fmt: skip

    shown = client.get(url).json["recommendations"]
    works = [{x["text"].startswith("already works with") for x in r["reasons"]} for r in shown]
    partner = next(r["partner_code"] for r, said in zip(shown, works, strict=True) if True in said)
    model = app.extensions["recommender"].models.require().model
    f, c = (model.context.pairs.index[code] for code in ("E07000064", partner))
    reg = model.context.reg
    linking = [str(reg.ids[k]) for k, m in enumerate(reg.members)
               if not reg.simulated[k] and f in m and c in m]  # fmt: skip
    assert linking and said(partner)
    records.remove(linking, settings=app.extensions["recommender"].settings)
    after = client.get(url)
    assert after.headers["X-Cache"] == "miss"
    assert said(partner) == []


def test_import_rejects_bad_rows_and_writes_nothing(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    size = client.get("/api/v1/health").json["register_size"]
    bad = REGISTER_CSV.replace("legal,2015", "lgal,2015")
    assert bad != REGISTER_CSV
    response = client.post("/api/v1/admin/register/import", data=bad, headers=auth(),
                           content_type="text/csv")  # fmt: skip
    assert response.status_code == 422
    assert response.json["error"] == "import_rejected"
    assert response.json["errors"][0]["column"] == "service_category"
    assert client.get("/api/v1/health").json["register_size"] == size
    assert _audit(app)[0]["outcome"] == "failed"


_PROJECT = "name,service,start_year,status,savings_gbp,savings_basis,partners,note,id,end_year,"
_PROJECT += "savings_period_years,savings_aim,source,simulated\n"
_ITEM = '{"name": "J", "service": "legal", "partners": ["Rother", "Hastings"], '
HOSTILE_UPLOADS = [
    ("text/csv", _PROJECT + "A,legal,2015,active,1,annual,Rother; Hastings," + "x" * 200_000,
     (2, "note")),
    ("text/csv", _PROJECT + "A,legal,2015,active,1,annual,Rother; Hastings,a\x00b", (2, "note")),
    ("text/csv", _PROJECT.replace("note,", "note,note,"), (1, "note")),
    ("application/json", '{"arrangements": ' + "[" * 50_000 + "]" * 50_000 + "}", (1, "")),
    ("application/json", '{"arrangements": [' + _ITEM + '"note": "\\ud800"}]}', (1, "note")),
    ("application/json", '{"arrangements": [' + _ITEM + '"savings_gbp": 1' + "0" * 5000
     + ', "savings_basis": "annual"}]}', (1, "savings_gbp")),
    ("application/json", '{"arrangements": [' + _ITEM + '"savings_gbp": 1e308, '
     '"savings_basis": "annual"}]}', (1, "savings_gbp")),
]  # fmt: skip


@pytest.mark.parametrize(("mimetype", "body", "where"), HOSTILE_UPLOADS)
def test_a_hostile_upload_is_a_422_naming_row_and_column(
    make_app: AppFactory, mimetype: str, body: str, where: tuple[int, str]
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    response = app.test_client().post("/api/v1/admin/register/import", data=body.encode(),
                                      headers=auth(), content_type=mimetype)  # fmt: skip
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert where in [(e["row"], e["column"]) for e in response.json["errors"]]


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": "x", "content_type": "text/plain"}, 415, "file"),
        ({"data": {}, "content_type": "multipart/form-data"}, 400, "file"),
    ],
)
def test_import_needs_a_file(
    make_app: AppFactory, kwargs: dict[str, object], status: int, field: str
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    response = app.test_client().post("/api/v1/admin/register/import", headers=auth(), **kwargs)
    assert response.status_code == status
    assert response.json["field"] == field


def test_admin_errors_do_not_show_server_paths(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    bad = REGISTER_CSV.replace("legal,2015", "lgal,2015")
    rejected = client.post("/api/v1/admin/register/import", data=bad, headers=auth(),
                           content_type="text/csv").json  # fmt: skip
    assert rejected["detail"].startswith("1 problem(s) in upload.csv; nothing was imported")
    missing = client.post("/api/v1/admin/promote", json={"version": "20990101-000000"},
                          headers=auth()).json  # fmt: skip
    assert missing["detail"] == f"no model '20990101-000000' in {settings.models.name}"
    _, second = _versions(app)
    _damage(app, second)
    damaged = client.post("/api/v1/admin/promote", json={"version": second}, headers=auth()).json
    for body in (rejected, missing, damaged):
        for folder in ("/tmp/", str(settings.models), str(settings.root)):
            assert folder not in json.dumps(body)


def test_audit_never_stores_the_token(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    client.post("/api/v1/admin/reload", headers=auth())
    client.post("/api/v1/admin/reload", headers=auth("guess"))
    database = Path(app.extensions["recommender"].settings.db_url.removeprefix("sqlite:///"))
    assert TOKEN.encode() not in database.read_bytes()
