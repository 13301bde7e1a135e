"""What one app keeps between requests: the model holder, the response cache, the register size.

:class:`ServiceState` lives in ``app.extensions["recommender"]``; views reach it through
:func:`state`. It is built once per process by the app factory (never at import).

The model is swapped atomically: a request calls :meth:`ModelHolder.require` once at its start
and keeps that :class:`~recommender.recommend.ranking.Recommender` for the whole request, so a
reload or a
promotion (which replaces the holder's reference under a lock) never changes the model under a
request in flight. Each gunicorn worker has its own holder; a worker notices a promotion made
by another worker, another replica or ``recommender models promote`` by reading the promoted
version from the registry every ``MODEL_CHECK_SECONDS`` and loading the new model then.

Under ``recommender serve`` each worker reads it from a thread of its own
(:meth:`ModelHolder.watch`, started after the worker is forked): requests never wait for a
model to load, they keep being answered by the current one until the new one has loaded,
answered its first query and prepared its suggestions (seconds: served unprepared, every
question about a body would work its suggestions out, and a worker under load answered a
tenth as many, each in over half a second, until they were all made), and an idle worker is as
current as a busy one. So a promotion or rollback made anywhere is served by every worker of
every replica sharing the models folder within ``MODEL_CHECK_SECONDS`` plus the time a worker
takes to load and prepare the model. An admin call (promote, roll back, reload) prepares the
model before it answers, and the worker that takes it serves the model from then on. Without
the thread (tests, ``flask run``) a request looks, at most every ``MODEL_CHECK_SECONDS``, loads
the new model itself and serves it at once, prepared in a thread of its own.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from recommender.core.config import Settings
from recommender.core.errors import ModelError, ModelLoadFailed, NoPromotedModel, RecommenderError
from recommender.database import db
from recommender.register.files import Directory
from recommender.webapp.error_pages import TRAIN_HINT
from recommender.webapp.errors import public
from recommender.webapp.guards import ClientBuckets, RefusalThrottle

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender

log = logging.getLogger(__name__)


class ReloadFailed(RecommenderError):
    """A reload or promotion could not load the model; the previous one is still serving."""

    status = 409
    error = "reload_failed"

    def __init__(self, cause: RecommenderError, serving: str | None) -> None:
        still = f"still serving model {serving}" if serving else "no model is serving"
        super().__init__(f"{cause.detail} ({cause.error}); {still}", field=cause.field)
        self.cause = cause
        self.serving = serving

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["cause"] = self.cause.error
        out["model_version"] = self.serving
        return out


Loader = Callable[[Settings], "Recommender"]


def load_promoted(settings: Settings) -> Recommender:
    """Load the promoted model and check it with a first query (the default loader)."""
    from recommender.recommend import serving

    return serving.open_promoted(settings)


def promoted_version(settings: Settings) -> str | None:
    """Return the version the model registry says is promoted, or None (reads one small file)."""
    from recommender.model import artifacts

    return artifacts.promoted_version(settings)


@dataclass
class ModelHolder:
    """The current recommender, swapped atomically; ``error`` says why there is none.

    ``refused`` says why the promoted version is not the one serving (it failed to load); that
    version is not tried again by the periodic check (it would fail the same way, every few
    seconds) until the registry names another one or an admin reload asks for it.
    """

    settings: Settings
    loader: Loader = load_promoted
    check_seconds: float = 5.0
    # Work done on a model before it is first installed at start-up, and after it is swapped
    # in later (promoted elsewhere, or by an admin promote, rollback or reload: in a thread, so
    # that the swap does not wait for it): e.g. preparing its default suggestions, which
    # requests otherwise make on demand.
    warm: Callable[[Recommender], None] | None = None
    # Keeps the serving model's partnerships as the register holds them (imports since it was
    # trained), looked at with each look for a promotion (:class:`RegisterFollower`): returns
    # a copy of the model to prepare and serve when the register deleted or ended some.
    register: Callable[[Recommender], Recommender | None] | None = None
    recommender: Recommender | None = None
    error: RecommenderError | None = None
    refused: RecommenderError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_check: float = 0.0
    _failed: str | None = None  # the promoted version that did not load
    _preparing: str | None = None  # the version being prepared before it serves
    _watcher: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def version(self) -> str | None:
        current = self.recommender
        return current.version if current is not None else None

    def load(self) -> Recommender | None:
        """Load the promoted model at start-up; on failure keep the reason and serve without."""
        try:
            new = self._attempt()
            if self.warm is not None:
                self.warm(new)
            self.swap(new)
        except RecommenderError as err:
            log.warning("serving without a model: %s", err.detail)
            self.error = err
            self._failed = self._promoted()
        self._next_check = time.monotonic() + self.check_seconds
        return self.recommender

    def require(self) -> Recommender:
        """Return the recommender for this request, or raise 503 saying how to get one."""
        self._follow_promotion()
        current = self.recommender  # one read: the request keeps this object
        if current is not None:
            return current
        cause = public(self.error.detail, self.settings) if self.error else "no model is loaded"
        hint = "" if "recommender train" in cause else f"; {TRAIN_HINT}"
        raise NoPromotedModel(f"recommendations are unavailable: {cause}{hint}")

    def current_version(self) -> str | None:
        """Return the serving version (after looking for a promotion made elsewhere)."""
        self._follow_promotion()
        return self.version

    def problem(self) -> str | None:
        """Say why no model serves, or why the promoted one is not serving (None: all is well)."""
        if self.recommender is None:
            cause = self.error.detail if self.error else "no model is loaded"
        elif self.refused is not None:
            cause = self.refused.detail
        else:
            return None
        return public(cause, self.settings)

    def reload(self) -> tuple[str | None, str]:
        """Load the promoted model again and swap it in; return (old, new) versions.

        Raises :class:`ReloadFailed` (the current model keeps serving) when the file is broken.
        """
        with self._lock:  # the watcher does not load the same model meanwhile
            old = self.version
            try:
                new = self._attempt()
            except RecommenderError as err:
                self._failed, self.refused = self._promoted(), err
                raise ReloadFailed(err, old) from err
        self._ready(new)
        return old, new.version

    def promote(self, version: str) -> tuple[str | None, str]:
        """Load and check ``version``, record it as promoted, swap it in; return the version
        the registry promoted before, and ``version``.

        Raises :class:`ReloadFailed` when it does not load: the registry is not changed and
        the current model keeps serving.
        """
        from recommender.model import artifacts

        opened: list[Recommender] = []
        with self._lock:
            try:
                old = artifacts.promote(version, self.settings, check=self._opening(opened))
            except ModelError as err:
                raise ReloadFailed(err, self.version) from err
        self._ready(opened[-1])
        return old, version

    def _opening(self, opened: list[Recommender]) -> Callable[[Any], None]:
        """The check a promotion or rollback runs on the model it loads: its first use, and its
        partnerships as the register holds them now; the recommender is kept in ``opened``."""
        from recommender.recommend import serving

        def check(loaded: Any) -> None:
            opened.append(serving.ready(loaded, self.settings))

        return check

    def rollback(self) -> tuple[str | None, str]:
        """Promote the model that served before the current one (loaded and checked first),
        swap it in; return the version the registry promoted before, and the new one (not
        this worker's: it may not have followed a promotion made elsewhere yet). Raises
        :class:`ReloadFailed` as :meth:`promote` does."""
        from recommender.model import artifacts

        opened: list[Recommender] = []
        before: list[str | None] = []
        opening = self._opening(opened)

        def check(loaded: Any) -> None:
            before.append(promoted_version(self.settings))  # under the registry's lock
            opening(loaded)

        with self._lock:
            try:
                target = artifacts.rollback(self.settings, check=check)
            except ModelError as err:
                raise ReloadFailed(err, self.version) from err
        self._ready(opened[-1])
        return before[-1], target

    def swap(self, new: Recommender) -> Recommender | None:
        """Make ``new`` the current model; return the one it replaces."""
        with self._lock:
            return self._install(new)

    def _install(self, new: Recommender) -> Recommender | None:
        old, self.recommender = self.recommender, new  # one assignment: requests see either
        self.error = self.refused = self._failed = None
        return old

    def _ready(self, new: Recommender) -> bool:
        """Prepare ``new`` while the current model goes on answering, then serve it if the
        registry still promotes it (one promoted meanwhile is followed next); return whether
        it serves."""
        self._preparing = new.version  # the watcher does not load and prepare it a second time
        try:
            self._warm(new)
        finally:
            self._preparing = None
        with self._lock:
            if self._promoted() != new.version:
                log.info(
                    "model %s was promoted away while it was prepared: not served", new.version
                )
                return False
            self._install(new)
        return True

    def follow(self) -> None:
        """Serve the promoted model, if another is serving: loaded and prepared in this
        thread (a worker forked after a promotion, before it takes a request)."""
        self._check_registry()

    def watch(self) -> None:
        """Follow promotions from a thread of this process (see the module docstring)."""
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        """Stop the thread :meth:`watch` started (requests look for promotions again)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        self._watcher = None

    @property
    def watching(self) -> bool:
        return self._watcher is not None and self._watcher.is_alive()

    def _watch(self) -> None:
        while not self._stop.wait(max(self.check_seconds, 0.05)):
            try:
                self._check_registry()
            except Exception:  # never let the thread die: the next check tries again
                log.exception("looking for a promoted model failed")
            self._follow_register()

    def _follow_register(self, *, at_once: bool = False) -> None:
        """Follow the register (:class:`RegisterFollower`). A copy of the model that says what
        it deleted or ended is prepared while the current one answers, as a promoted model
        is, then served unless another model was meanwhile (``at_once``: served first)."""
        current = self.recommender
        if self.register is None or current is None:
            return
        try:
            fresh = self.register(current)
        except Exception:  # e.g. the database away: the answers stay as they were; logged
            log.exception("reading the register's running partnerships failed")
            return
        if fresh is None:
            return
        if not at_once:
            self._warm(fresh)
        with self._lock:
            if self.recommender is current:  # (not _install: a refused promotion stays so)
                self.recommender = fresh
        if at_once:
            self._warm_later(fresh)

    def _attempt(self) -> Recommender:
        try:
            return self.loader(self.settings)
        except RecommenderError:
            raise
        except Exception as err:  # e.g. an unreadable models folder: a reason, never a 500
            log.exception("the promoted model does not load")
            raise ModelLoadFailed(
                f"the promoted model does not load ({type(err).__name__}: {err})"
            ) from err

    def _promoted(self) -> str | None:
        try:
            return promoted_version(self.settings)
        except (RecommenderError, OSError):
            return None

    def _follow_promotion(self) -> None:
        # Another worker (or the CLI) may have promoted a model: look at most every few seconds,
        # unless the watcher thread does it for this process.
        if self._watcher is not None:
            return
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.check_seconds
        self._check_registry(at_once=True)
        self._follow_register(at_once=True)

    def _check_registry(self, *, at_once: bool = False) -> None:
        """Load the promoted model if it is not the one serving (skipped while another thread
        loads or prepares one), prepare it and serve it (:meth:`_ready`); ``at_once`` (a
        request that looked, with no watcher: it must not wait seconds) serves it first and
        prepares it in a thread of its own."""
        new = self._load_promoted()
        if new is None:
            return
        if at_once:
            with self._lock:
                self._install(new)
            self._warm_later(new)
        elif not self._ready(new):
            return
        log.info("now serving model %s (promoted elsewhere)", new.version)

    def _load_promoted(self) -> Recommender | None:
        """The promoted model, loaded, when it is not the one serving nor one that failed to
        load, and no other thread is loading or preparing it; else None."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            try:
                wanted = promoted_version(self.settings)
            except (RecommenderError, OSError) as err:
                log.warning("cannot read the promoted model version: %s", err)
                return None
            if wanted == self.version:
                self.refused = self._failed = None  # the registry went back to this one
            if wanted in (None, self.version, self._failed, self._preparing):
                return None
            try:
                return self._attempt()
            except RecommenderError as err:
                log.error(
                    "promoted model %s does not load; keeping %s (not retried until another "
                    "version is promoted or an admin reload): %s",
                    wanted,
                    self.version,
                    err.detail,
                )
                self._failed, self.refused = wanted, err
                return None
        finally:
            self._lock.release()

    def _warm_later(self, new: Recommender) -> None:
        """Prepare a model swapped in (``warm``) after the swap, in a thread of its own:
        requests are answered meanwhile, and the caller goes on (the watcher to look for the
        next promotion, an admin call to answer)."""
        if self.warm is not None:
            threading.Thread(target=self._warm, args=(new,), name="model-warm", daemon=True).start()

    def _warm(self, new: Recommender) -> None:
        try:
            if self.warm is not None:
                with _beside_requests():
                    self.warm(new)
        except Exception:  # an optimisation: requests work the suggestions out on demand
            log.exception("preparing the suggestions of model %s failed", new.version)


# Preparing a model makes close to a million long-lived objects. The cyclic garbage collector's
# full collections, which walk every object not frozen, ran again and again meanwhile as they
# grew, each pausing every thread of the worker for up to a third of a second (the soak's p99
# rose to 240 ms); start-up's model is frozen (`recommender serve`: gc.freeze), a promoted one
# was not, so its full collections went on pausing the worker after. While a preparation runs
# no full collection starts; after it, one does (a fraction of a second, once) and what is left,
# the prepared model and the rest alive, is frozen as start-up's is.
_collecting = threading.Lock()
_preparations = 0
_thresholds: tuple[int, int, int] = (0, 0, 0)


@contextmanager
def _beside_requests() -> Iterator[None]:
    """No full collection while preparations run; then one, and freeze what is left."""
    global _preparations, _thresholds
    with _collecting:
        if _preparations == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], 2**31 - 1)
        _preparations += 1
    try:
        yield
    finally:
        with _collecting:
            _preparations -= 1
            if _preparations == 0:
                gc.set_threshold(*_thresholds)
                gc.collect()  # the garbage made meanwhile (a request's, in cycles) goes first
                gc.freeze()


class ResponseCache:
    """A thread-safe LRU of serialised responses, bounded in bytes (keys include the model
    version, so an answer of another model is never served).

    ``max_bytes`` bounds what the cache holds: each entry counts its value's size in memory
    plus :data:`ENTRY_OVERHEAD` for its key and bookkeeping; the least recently used entries
    are dropped to make room, and a value larger than the whole budget is not kept. 0 turns
    the cache off.
    """

    ENTRY_OVERHEAD = 200  # bytes: a key tuple of a few short strings and numbers, and its slot

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0  # what the entries held now count
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def cost(cls, value: bytes) -> int:
        """What one entry holding ``value`` counts against the budget."""
        return sys.getsizeof(value) + cls.ENTRY_OVERHEAD

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: bytes) -> None:
        cost = self.cost(value)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= self.cost(old)
            self._items[key] = value
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= self.cost(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class RegisterFollower:
    """Tells the serving model when the register's real arrangements change (an import since
    it was trained): :meth:`Recommender.follow` then marks the partnerships it was trained
    without as existing. Each call costs one small query (the real arrangements counted and
    the last import); the partnerships are read again only when that changed, or the model."""

    engine: Engine
    _seen: tuple[int, tuple[Any, ...]] | None = field(default=None, repr=False)

    def __call__(self, current: Recommender) -> Recommender | None:
        """Follow the register on ``current``; return the copy to serve when it deleted or
        ended arrangements (:meth:`Recommender.following_register`), else None."""
        a = db.arrangements
        stamp = sa.select(sa.func.count(), sa.func.max(a.c.import_id)).where(
            a.c.simulated.is_(False)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stamp).one()
        seen = (id(current), tuple(row))
        if seen == self._seen:
            return None
        fresh = current.following_register(self.engine)
        self._seen = seen if fresh is None else (id(fresh), tuple(row))
        return fresh


@dataclass
class RegisterSize:
    """The number of real arrangements (the observed register), counted at most every ``ttl``
    seconds (health stays cheap)."""

    engine: Engine
    ttl: float
    _value: int = 0
    _expires: float = -1.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self) -> int:
        if time.monotonic() >= self._expires and self._lock.acquire(blocking=False):
            try:
                self.refresh()
            finally:
                self._lock.release()
        return self._value

    def refresh(self) -> int:
        real = sa.select(sa.func.count()).where(db.arrangements.c.simulated.is_(False))
        with self.engine.connect() as conn:
            self._value = int(conn.scalar(real) or 0)
        self._expires = time.monotonic() + self.ttl
        return self._value


@dataclass
class ServiceState:
    """Everything the views share; one per app."""

    settings: Settings
    engine: Engine
    directory: Directory
    models: ModelHolder
    cache: ResponseCache
    register_size: RegisterSize
    briefings: ResponseCache = field(default_factory=lambda: ResponseCache(0))
    feedback_limit: ClientBuckets = field(default_factory=lambda: ClientBuckets(10, 20))
    refusals: RefusalThrottle = field(default_factory=RefusalThrottle)
    extras: dict[str, Any] = field(default_factory=dict)


def state() -> ServiceState:
    """Return the current app's :class:`ServiceState`."""
    found: ServiceState = current_app.extensions["recommender"]
    return found
