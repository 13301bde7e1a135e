"""The web service: :func:`create_app` builds a Flask app serving the JSON API under ``/api/v1``
and the pages (:mod:`recommender.webapp.pages`, templates and static files from ``web/``).

Configuration comes from :data:`recommender.webapp.config.DEFAULTS`, then ``RECOMMENDER_*``
environment variables, then ``test_config``. The reference data, the register database and
the promoted model are loaded here, once per process, into ``app.extensions["recommender"]``
(:class:`~recommender.webapp.state.ServiceState`); nothing is loaded at import. Without a
promoted model the app still serves (``/health`` says ``degraded``) and the recommendation
routes answer 503 saying how to train one.

Run it with ``recommender serve`` (gunicorn), or in development with
``flask --app recommender.webapp run --debug``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from recommender.core import services
from recommender.core.errors import ConfigError
from recommender.database import db
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.webapp import guards
from recommender.webapp.config import (
    DEFAULTS,
    admin_token,
    positive,
    raw_admin_token,
    refuse_renamed,
    settings_from,
    size_in_bytes,
)
from recommender.webapp.errors import register_error_handlers
from recommender.webapp.jsonprovider import JSONProvider
from recommender.webapp.request_body import Request
from recommender.webapp.state import (
    ModelHolder,
    RegisterFollower,
    RegisterSize,
    ResponseCache,
    ServiceState,
    load_promoted,
)

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: configure it, load data, register and model, register the blueprints."""
    app = Flask(__name__, static_folder=None)
    app.request_class = Request  # chunked bodies held to the limit, malformed ones a 400
    app.json = JSONProvider(app)  # compact UTF-8, NaN as null, numpy plain (and api.dumps)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("RECOMMENDER")
    if (token := raw_admin_token(os.environ)) is not None:
        app.config["ADMIN_TOKEN"] = token  # as set, not JSON-parsed
    if test_config is not None:
        app.config.from_mapping(test_config)
    admin_token(app.config)  # a bad token stops the start, saying why
    refuse_renamed(app.config)
    from recommender.recommend.ranking import MAX_K

    positive(app.config, "MAX_K", limit=MAX_K)
    positive(app.config, "PROXY_HOPS", limit=10)
    if int(app.config["MAX_K"]) < 1:
        raise ConfigError(f"MAX_K={app.config['MAX_K']!r}: expected 1 to {MAX_K}", field="MAX_K")
    app.extensions["recommender"] = _load_state(app.config)
    _serve_web(app, app.extensions["recommender"].settings.web)
    register_error_handlers(app)
    guards.install(app, app.config)
    from recommender.webapp import admin, api, compare_page, downloads, pages, scenario_pages

    for blueprint in (api.bp, downloads.bp, admin.bp, pages.bp, scenario_pages.bp, compare_page.bp):
        app.register_blueprint(blueprint)
    return app


def _serve_web(app: Flask, web: Path) -> None:
    """Render pages from ``web/templates`` and serve ``web/static`` at ``/static``."""
    app.template_folder = str(web / "templates")
    app.static_folder = str(web / "static")
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=app.send_static_file)


def _load_state(config: Mapping[str, Any]) -> ServiceState:
    settings = settings_from(config)
    reference.load_bodies(settings)  # fail at start, not on the first request
    services.load_services(settings)
    reg.ensure_database(settings)
    engine = db.engine_for(settings)
    db.init_db(engine)
    models = ModelHolder(
        settings,
        loader=load_promoted,
        check_seconds=positive(config, "MODEL_CHECK_SECONDS"),
        warm=_prepare if config.get("PREPARE_SUGGESTIONS") else None,
        register=RegisterFollower(engine),
    )
    models.load()
    size = RegisterSize(engine, ttl=positive(config, "REGISTER_SIZE_SECONDS"))
    size.refresh()
    log.info(
        "recommender service: model %s, %d arrangements, data in %s",
        models.version or "none",
        size.get(),
        settings.data,
    )
    return ServiceState(
        settings=settings,
        engine=engine,
        directory=reg.default_directory(settings),
        models=models,
        # Whole answers (a suggestion's own JSON is made once with it: see _prepare).
        cache=ResponseCache(size_in_bytes(config, "CACHE_BYTES")),
        briefings=ResponseCache(size_in_bytes(config, "BRIEFING_CACHE_BYTES")),
        register_size=size,
        feedback_limit=guards.ClientBuckets(
            positive(config, "FEEDBACK_PER_MINUTE"), max(1.0, positive(config, "FEEDBACK_BURST"))
        ),
        refusals=guards.RefusalThrottle(positive(config, "AUDIT_REFUSAL_SECONDS")),
    )


def _prepare(model: Recommender) -> None:
    """Work out the model's default suggestions with their reasons and JSON (seconds: before
    it serves, at start-up, after a promotion, and for a copy after the register deleted or
    ended arrangements, the current model answering meanwhile)."""
    count = model.prepare()
    log.info("model %s: %d suggestions prepared with their reasons and JSON", model.version, count)


__all__ = ["create_app"]
