"""Register benchmark: public reads as the register grows to 1k, 10k and 100k arrangements.

The arrangements added are **synthetic**: made here (named ``SYNTHETIC …``, sourced "synthetic
register for make bench", ids ``X-…``), flagged real so that the default listings show them,
and written only into a private SQLite database that is deleted afterwards, never into the
shipped data or the user's database. Each has a lower-tier council as lead, one to four of its
nearest bodies that deliver the service as partners, a start year and an annual saving.

Measured against ``recommender serve`` (its defaults) on that database, each the median of a
few requests: ``/api/v1/arrangements?limit=1``, a page of 50 in the middle and at the end, the
explorer page ``/arrangements`` (bytes as sent, gzip, and as HTML), its last page and its
ended arrangements (``?status=ended``: the status read by the query, a scan of every row), the
home page (its headline figures: every real arrangement counted by status, their savings and
the bodies in them, read from every row each time), and ``/api/v1/health`` answered while
four clients keep asking for explorer pages. Target (issue 11): the reads stay quick at 100k,
the database counting, paging and aggregating (no read loads the whole register into
Python), the page sent hardly grows (the map draws one mark a body and the lines of one
page), and health stays quick. What still grows with the register is the database's own
work: an offset walks the rows before it, the explorer's table by service and its map's marks
aggregate every arrangement the filters keep (a group-by over their members), and the home
page's figures every real one. About a minute.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from recommender.bench._util import (
    free_port,
    load_average,
    start_server,
    stop_server,
    table,
    wait_for,
)
from recommender.core import kinds
from recommender.core.config import Settings

SIZES = (1_000, 10_000, 100_000)
REPEATS = 5  # requests per figure (the median is shown)
PAGE_CLIENTS = 4  # clients asking for explorer pages while health is timed
HEALTH_PROBES = 40
SOURCE = "synthetic register for make bench (not a real arrangement)"
LOWER_TIERS = kinds.LOWER_TIERS


def synthetic_rows(
    count: int, settings: Settings, *, start: int = 0, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` synthetic arrangements (numbered from ``start``) and their members, as rows
    of the ``arrangements`` and ``members`` tables."""
    from recommender.core import services
    from recommender.reference import lookup as reference

    bodies = reference.load_bodies(settings).drop(columns="geometry")
    taxonomy = services.load_services(settings)
    codes = bodies.index.to_numpy(dtype=str)
    xy = bodies[["x", "y"]].to_numpy(dtype=float)
    tiers = bodies["tier"].to_numpy(dtype=str)
    names = bodies["display_name"].to_numpy(dtype=str)
    service_ids = list(taxonomy.index)
    delivers = {
        s: np.isin(tiers, str(taxonomy.loc[s, "delivered_by"]).split(";")) for s in service_ids
    }
    leads = np.flatnonzero(np.isin(tiers, LOWER_TIERS))
    rng = np.random.default_rng(seed + start)
    arrangements: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for i in range(start, start + count):
        lead = int(rng.choice(leads))
        choices = [s for s in service_ids if delivers[s][lead]]
        service = str(choices[int(rng.integers(len(choices)))])
        near = np.flatnonzero(delivers[service])
        near = near[near != lead]
        distance = np.hypot(*(xy[near] - xy[lead]).T)
        closest = near[np.argsort(distance)[:8]]
        size = min(len(closest), int(rng.integers(1, 5)))
        partners = rng.choice(closest, size=size, replace=False)
        group = [lead, *(int(p) for p in partners)]
        ident = f"X-{i:08d}"
        saving = float(np.round(rng.lognormal(11.5, 1.0), -2))
        arrangements.append(
            {
                "id": ident,
                "name": f"SYNTHETIC {i}: {' and '.join(names[g] for g in group[:3])}",
                "service": service,
                "start_year": int(rng.integers(2005, 2024)),
                "end_year": None,
                "status": "unknown",
                "savings_gbp": saving,
                "savings_basis": "annual",
                "savings_period_years": None,
                "annual_savings_gbp": saving,
                "savings_aim": True,
                "source": SOURCE,
                "note": "",
                "simulated": False,
                "fingerprint": hashlib.sha256(f"synthetic-bench-{i}".encode()).hexdigest(),
                "import_id": None,
            }
        )
        members += [
            {
                "arrangement_id": ident,
                "position": position,
                "body_code": str(codes[g]),
                "name_as_given": str(names[g]),
                "role": "lead" if position == 1 else "partner",
                "resolution": "exact",
                "external_kind": None,
            }
            for position, g in enumerate(group, 1)
        ]
    return arrangements, members


def add_synthetic(engine: sa.Engine, count: int, settings: Settings, *, start: int = 0) -> None:
    """Write ``count`` synthetic arrangements into ``engine``'s database, in one transaction."""
    from recommender.database import db

    arrangements, members = synthetic_rows(count, settings, start=start)
    with db.transaction(engine) as conn:
        for rows, target in ((arrangements, db.arrangements), (members, db.members)):
            for i in range(0, len(rows), 5000):
                conn.execute(target.insert(), rows[i : i + 5000])


def run(settings: Settings) -> None:
    """Grow a private register to each size, time the public reads, print the table."""
    from recommender.database import db

    with tempfile.TemporaryDirectory(prefix="recommender-bench-") as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'register.sqlite'}"
        env = {
            "RECOMMENDER_DATA_DIR": str(settings.data),
            "RECOMMENDER_MODELS_DIR": str(folder / "models"),  # none: reads need no model
            "RECOMMENDER_DATABASE_URL": url,
        }
        port = free_port()
        server = start_server(env, folder / "server.log", port)
        base = f"http://127.0.0.1:{port}"
        rows = []
        try:
            wait_for(base + "/api/v1/health", server)  # the default register is loaded now
            engine = db.engine_for(settings.with_(database_url=url))
            with engine.connect() as conn:
                have = int(
                    conn.scalar(sa.select(sa.func.count()).select_from(db.arrangements)) or 0
                )
            added = 0
            for size in SIZES:
                add_synthetic(engine, size - have - added, settings, start=added)
                added = size - have
                rows.append(_measure(base, size))
            engine.dispose()
        finally:
            stop_server(server)
    table(
        "Public reads as the register grows (synthetic arrangements added to a private "
        f"database; all of them, and those listed by default: the real ones; median of "
        f"{REPEATS} requests; health timed while {PAGE_CLIENTS} clients ask for explorer pages)",
        ["arrangements", "?limit=1 ms", "limit=50 mid ms", "limit=50 last ms", "/arrangements ms",
         "KB sent (gzip)", "KB HTML", "last page ms", "status=ended ms", "home ms", "health p95 ms",
         "health max ms",
         "load avg"],
        rows,
    )  # fmt: skip


def _measure(base: str, size: int) -> list[Any]:
    api = base + "/api/v1/arrangements"
    listed = int(json.loads(_get(api + "?limit=1"))["total"])  # the real ones (the default)
    limit_one = _median(api + "?limit=1")
    middle = _median(f"{api}?limit=50&offset={listed // 2}")
    end = _median(f"{api}?limit=50&offset={max(0, listed - 50)}")
    page_ms, sent, html = _page(base + "/arrangements")
    pages = -(-listed // 25)
    last_page = _median(f"{base}/arrangements?page={pages}")
    ended = _median(f"{base}/arrangements?status=ended")  # the status read in the query
    home = _median(base + "/")  # the register's headline figures, counted from every row
    health = _health_under_pages(base, pages)
    return [
        f"{size:,} ({listed:,} listed)",
        limit_one,
        middle,
        end,
        page_ms,
        sent / 1024,
        html / 1024,
        last_page,
        ended,
        home,
        health[0],
        health[1],
        load_average(),
    ]


def _get(url: str, gzip_ok: bool = False) -> bytes:
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=300) as response:
        return bytes(response.read())


def _median(url: str) -> float:
    _get(url)  # the first asking may read the database's pages from disk
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        _get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _page(url: str) -> tuple[float, int, int]:
    sent = _get(url, gzip_ok=True)
    html = gzip.decompress(sent) if sent[:2] == b"\x1f\x8b" else sent
    return _median(url), len(sent), len(html)


def _health_under_pages(base: str, pages: int) -> tuple[float, float]:
    stop = threading.Event()

    def browse(seed: int) -> None:
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            _get(f"{base}/arrangements?page={int(rng.integers(1, pages + 1))}", gzip_ok=True)

    clients = [threading.Thread(target=browse, args=(i,), daemon=True) for i in range(PAGE_CLIENTS)]
    for client in clients:
        client.start()
    times = []
    try:
        time.sleep(0.5)
        for _ in range(HEALTH_PROBES):
            started = time.perf_counter()
            _get(base + "/api/v1/health")
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=300)
    times.sort()
    return times[int(0.95 * (len(times) - 1))], times[-1]
