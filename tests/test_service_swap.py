"""A model swap never fails a request in flight, and every worker follows a promotion."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from model_fixtures import MISSING_MODULE_PICKLE, with_artifact
from recommender.core.config import Settings
from recommender.model import artifacts
from service_fixtures import TOKEN, AppFactory, auth

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender

URLS = [
    "/api/v1/bodies/Rother/recommendations?k=2",
    "/api/v1/bodies/E07000065/recommendations?k=2&service=legal",
    "/api/v1/bodies/Hastings/groups?service=ict&k=1&max_size=2",
    "/api/v1/health",
]


def test_swaps_under_concurrent_requests_fail_nothing(make_app: AppFactory) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    statuses: Counter[int] = Counter()
    versions: Counter[str] = Counter()
    failures: list[str] = []
    swapping = threading.Event()
    done = threading.Event()
    lock = threading.Lock()

    def hammer(offset: int) -> None:
        client = app.test_client()
        n = offset
        while not done.is_set() or n < offset + len(URLS):
            url = URLS[n % len(URLS)]
            n += 1
            response = client.get(url)
            with lock:
                statuses[response.status_code] += 1
                if response.status_code != 200:
                    failures.append(f"{url}: {response.status_code} {response.json}")
                else:
                    versions[response.json.get("model_version") or ""] += 1
            if n - offset == len(URLS):
                swapping.set()

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        assert swapping.wait(120)
        admin = app.test_client()
        for i in range(6):
            target = second if i % 2 == 0 else first
            if i % 3 == 2:
                artifacts.promote(target, settings)
                response = admin.post("/api/v1/admin/reload", headers=auth())
            else:
                response = admin.post("/api/v1/admin/promote", json={"version": target},
                                      headers=auth())  # fmt: skip
            assert response.status_code == 200, response.json
            assert response.json["model_version"] == target
    finally:
        done.set()
        for thread in threads:
            thread.join(120)
    assert not failures, failures[:5]
    assert set(statuses) == {200}
    assert versions[first] > 0 and versions[second] > 0


def test_a_worker_follows_a_promotion_made_elsewhere(make_app: AppFactory) -> None:
    # Another gunicorn worker, or `recommender models promote`, changed the registry.
    app = make_app(MODEL_CHECK_SECONDS=0)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    assert client.get("/api/v1/health").json["model_version"] == first
    artifacts.promote(second, settings)
    assert client.get("/api/v1/health").json["model_version"] == second
    shown = client.get("/api/v1/bodies/Rother/recommendations?k=1").json
    assert shown["model_version"] == second


def test_a_promoted_model_that_does_not_load_is_tried_once(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registry names a model whose module was renamed (another worker's promote, or a
    # hand edit): this worker keeps serving, logs once, and does not load it again and again.
    app = make_app(MODEL_CHECK_SECONDS=0)
    client = app.test_client()
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    broken = with_artifact(settings.models, first, MISSING_MODULE_PICKLE)
    (settings.models / artifacts.REGISTRY).write_text(
        json.dumps({"promoted": broken, "history": [first]})
    )
    loads: list[str] = []
    real_load = artifacts.load
    monkeypatch.setattr(artifacts, "load", lambda v, s=None: loads.append(v) or real_load(v, s))
    with caplog.at_level(logging.ERROR, logger="recommender.webapp.state"):
        for _ in range(5):
            response = client.get("/api/v1/bodies/Rother/recommendations?k=1")
            assert response.status_code == 200 and response.json["model_version"] == first
    assert loads == [broken]
    assert len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1
    health = client.get("/api/v1/health").json
    assert health["state"] == "ok" and health["model_version"] == first
    assert broken in health["problem"] and "ModuleNotFoundError" in health["problem"]
    artifacts.promote(second, settings)  # a good promotion is still followed
    assert client.get("/api/v1/health").json == health | {"model_version": second, "problem": None}


def _wait_until(condition: Callable[[], bool], seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_watching_worker_follows_a_promotion_with_no_request(make_app: AppFactory) -> None:
    # `recommender serve` starts the watcher in every worker: an idle worker is current too.
    app = make_app(MODEL_CHECK_SECONDS=0.05)
    holder = app.extensions["recommender"].models
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    holder.watch()
    try:
        assert holder.watching
        artifacts.promote(second, settings)  # another replica, or the CLI
        assert _wait_until(lambda: holder.version == second)
        artifacts.rollback(settings)
        assert _wait_until(lambda: holder.version == first)
    finally:
        holder.stop_watching()
    assert not holder.watching


def test_requests_never_wait_for_the_watcher_to_load_a_model(make_app: AppFactory) -> None:
    app = make_app(MODEL_CHECK_SECONDS=0.05)
    client = app.test_client()
    holder = app.extensions["recommender"].models
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    loading, release = threading.Event(), threading.Event()
    real_loader = holder.loader

    def slow_loader(settings: Settings) -> Recommender:
        loading.set()
        assert release.wait(120)
        return real_loader(settings)

    holder.loader = slow_loader
    holder.watch()
    try:
        artifacts.promote(second, settings)
        assert loading.wait(120)  # the watcher is loading the new model ...
        for url in URLS:  # ... and requests are answered by the current one meanwhile
            response = client.get(url)
            assert response.status_code == 200
            assert response.json.get("model_version") == first
        release.set()
        assert _wait_until(lambda: holder.version == second)
        shown = client.get("/api/v1/bodies/Rother/recommendations?k=1").json
        assert shown["model_version"] == second
    finally:
        release.set()
        holder.stop_watching()


def test_a_promoted_model_is_prepared_before_it_serves(make_app: AppFactory) -> None:
    """Preparing a model's suggestions takes seconds, and a worker serving one unprepared
    works them out question by question: in the soak, a tenth as many answers for 15 s, each
    over half a second. The watcher prepares it while the current model answers; one promoted
    away meanwhile (a rollback) is never served."""
    app = make_app(MODEL_CHECK_SECONDS=0.05)
    client = app.test_client()
    holder = app.extensions["recommender"].models
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    preparing, release = threading.Event(), threading.Event()
    warmed: list[str] = []

    def slow_warm(model: Recommender) -> None:
        preparing.set()
        assert release.wait(120)
        warmed.append(model.version)

    holder.warm = slow_warm
    holder.watch()
    try:
        artifacts.promote(second, settings)
        assert preparing.wait(120)  # the watcher prepares the new model ...
        for url in URLS:  # ... while the current one answers
            response = client.get(url)
            assert response.status_code == 200
            assert response.json.get("model_version") == first
        artifacts.rollback(settings)  # promoted away before it is ready
        release.set()
        assert _wait_until(lambda: warmed == [second])
        time.sleep(0.3)  # a few looks at the registry
        assert holder.version == first
        preparing.clear()
        artifacts.promote(second, settings)  # again: prepared, then served
        assert _wait_until(lambda: holder.version == second)
        assert warmed == [second, second]
    finally:
        release.set()
        holder.stop_watching()


def test_a_model_promoted_rolled_back_or_reloaded_by_an_admin_is_prepared_too(
    make_app: AppFactory,
) -> None:
    """The worker that takes an admin call prepares the model before it answers, and serves
    it from then on, as the others do when they follow the registry (else its requests would
    work the suggestions out)."""
    app = make_app()
    holder = app.extensions["recommender"].models
    first, second = artifacts.versions(app.extensions["recommender"].settings)
    warmed: list[tuple[str, str | None]] = []  # (model prepared, model serving meanwhile)
    holder.warm = lambda model: warmed.append((model.version, holder.version))
    holder.promote(second)  # answers once its model is prepared, and serves it
    assert warmed == [(second, first)] and holder.version == second
    holder.rollback()
    assert warmed[1:] == [(first, second)] and holder.version == first
    holder.reload()
    assert warmed[2:] == [(first, first)] and holder.version == first


def test_a_worker_forked_after_a_promotion_serves_it_from_its_first_request(
    make_app: AppFactory,
) -> None:
    # gunicorn restarts a worker by forking the master, which holds the model it loaded at
    # start-up: the new worker must not answer with it until its first look at the registry.
    from types import SimpleNamespace

    from recommender.cli.serve import _post_fork

    app = make_app(MODEL_CHECK_SECONDS=3600)
    holder = app.extensions["recommender"].models
    settings = app.extensions["recommender"].settings
    first, second = artifacts.versions(settings)
    artifacts.promote(second, settings)
    assert holder.version == first
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    _post_fork(None, worker)
    try:
        assert holder.version == second  # before any request
        assert holder.watching
        shown = app.test_client().get("/api/v1/bodies/Rother/recommendations?k=1").json
        assert shown["model_version"] == second
    finally:
        holder.stop_watching()


def test_no_full_collection_runs_while_a_model_is_prepared_and_it_is_frozen_after(
    make_app: AppFactory,
) -> None:
    """A prepared model is close to a million objects: the garbage collector's full
    collections, walking them again and again while they were made and after, paused the
    worker's every thread for up to a third of a second each (the soak's p99 rose to 240 ms).
    None starts meanwhile; after, the model is frozen as start-up's is (`recommender serve`)."""
    import gc

    app = make_app()
    holder = app.extensions["recommender"].models
    _, second = artifacts.versions(app.extensions["recommender"].settings)
    usual = gc.get_threshold()
    meanwhile: list[tuple[int, int, int]] = []
    made: list[object] = []

    def warm(model: Recommender) -> None:
        meanwhile.append(gc.get_threshold())
        made.append([[model.version]])  # an object the preparation keeps (a list: tracked)

    holder.warm = warm
    gc.unfreeze()
    try:
        holder.promote(second)
        assert gc.get_freeze_count() > 0  # frozen: out of every generation the collector walks
        assert meanwhile[0][:2] == usual[:2] and meanwhile[0][2] >= 2**31 - 1
        assert gc.get_threshold() == usual
        assert gc.is_tracked(made[0]) and all(o is not made[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_deletion_from_the_register_is_prepared_before_it_is_served(
    make_app: AppFactory,
) -> None:
    """`register remove` while the service ran cleared every body's prepared suggestions: for
    some 15 s a worker under load answered 96-163 requests a second, p99 near 700 ms, working
    them out again question by question. The watcher now prepares a copy of the model that
    says what the register deleted while the current one answers as it did, then serves it."""
    from recommender.register import records

    app = make_app(MODEL_CHECK_SECONDS=0.05)
    client = app.test_client()
    holder = app.extensions["recommender"].models
    url = "/api/v1/bodies/Rother/recommendations?k=5"
    cited = client.get(url).json["recommendations"][0]["evidence"][0]["id"]
    before = holder.recommender
    assert before is not None
    preparing, release = threading.Event(), threading.Event()
    prepared: list[Recommender] = []

    def slow_warm(model: Recommender) -> None:
        prepared.append(model)
        preparing.set()
        assert release.wait(120)

    holder.warm = slow_warm
    holder.watch()
    try:
        records.remove([cited], settings=app.extensions["recommender"].settings)
        assert preparing.wait(120)  # the copy that says so is prepared ...
        assert prepared[0] is not before and cited in prepared[0].withdrawn
        assert holder.recommender is before and not before.withdrawn  # ... this one answers
        shown = client.get(url).json["recommendations"]
        assert any(e["id"] == cited for r in shown for e in r["evidence"])
        release.set()
        assert _wait_until(lambda: holder.recommender is prepared[0])
        shown = client.get(url).json["recommendations"]
        assert shown[0]["evidence"] and all(e["id"] != cited for r in shown for e in r["evidence"])
    finally:
        release.set()
        holder.stop_watching()
