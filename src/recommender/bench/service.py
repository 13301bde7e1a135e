"""Service benchmark: ``recommender serve`` under varied traffic with no warm-up, and a soak.

Everything runs against a private database and models folder (the promoted model is copied
there, or trained when there is none; the soak trains a second one): the user's own are never
touched. Each run is wrk against the server's defaults (``recommender serve``) on a free
loopback port, 32 connections, 2 wrk threads, and every figure is printed with the machine's
load average at the end of its run (other work on the two cores skews them). Each server is
used once every worker listens (``_util.wait_listening``), and each run starts once the server
has answered what the run before left queued (:func:`_settle`).

The traffic (one Lua script generates every request; health goes through the same script, so
wrk's own cost per request is the same for both):

* **health**: ``/api/v1/health``, the reference, measured 30 s before and 30 s after each
  other run, which is compared with the mean of the two: the two cores are shared with other
  machines' work and their speed drifts from one minute to the next (the health runs show by
  how much), which would otherwise move the ratios more than what they measure.
* **recommendations, cold**: a fresh server (only the first health run before it), no warm-up,
  60 s. Each of wrk's threads takes every body in turn from its own starting point; half the
  questions name a random service of those the body delivers (the ones its page offers), 30%
  one or two random kinds, 30% a random distance (10 to 200 km), and ``k`` is random from 1 to
  50, so nearly every question is new (the share asked before in the run, an upper bound of
  what the cache of answers can serve, is shown; wrk's Lua cannot count it without costing wrk
  more per large answer than per small one). The server prepared its model's default
  suggestions with their reasons and evidence when it loaded it, before answering anything
  (``PREPARE_SUGGESTIONS``).
* **mixed**: the same with 10% partner groups and 10% arrangements to join (30 s, for
  information: those two fit the savings model per request and cost more).
* **recommendations, warmed (cache)**: 800 varied questions asked again and again after a
  15 s warm-up: what the cache of answers gives, for comparison only.

Each worker's memory (resident, its share, its own, and what it still shares with the master
that prepared the model) is read from Linux's ``/proc`` at the start and after the cold run.

Targets (issue 11): cold recommendations at least 70% of health's requests a second, p99 under
50 ms, no errors and no timeouts (a request over 2 s) over 60 s.

**Soak**: a fresh server with an admin token, 60 s of the cold traffic, and half-way a second
trained model promoted through ``POST /api/v1/admin/promote``; the other worker follows within
``MODEL_CHECK_SECONDS``. No request may fail (non-2xx, socket error, or no answer in 10 s).

About 9 minutes in all (the second model's training included).
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from recommender.bench._util import (
    command,
    free_port,
    get_json,
    load_average,
    start_server,
    stop_server,
    table,
    wait_for,
    wait_listening,
    worker_memory,
)
from recommender.cli.serve import DEFAULT_THREADS, DEFAULT_WORKERS
from recommender.core.config import Settings

CONNECTIONS = 32
THREADS = 2
DURATION_S = 60
HEALTH_S = 30
MIXED_S = 30
WARM_UP_S = 15
SOAK_S = 60
WARM_URLS = 800  # their answers (~16 KB each) fit the answer cache of each worker
TIMEOUT_S = 2  # a request unanswered after this is a timeout (an error)
SOAK_TIMEOUT_S = 10
TARGET_RATIO = 0.70
TARGET_P99_MS = 50.0

LUA = """
local codes = {CODES}
local offered = {OFFERED}  -- each body's services (those its tier delivers), by position
local fixed = {FIXED}
local kinds = {"council", "fire", "police", "health", "combined"}
local kms = {"10", "25", "50", "100", "200"}
local groups_share, joins_share = GROUPS, JOINS
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  pos = math.random(#codes)
end

local function pick(list) return list[math.random(#list)] end

local function recommendations(code)
  local q = {}
  if math.random() < 0.5 then q[#q + 1] = "service=" .. pick(offered[pos]) end
  if math.random() < 0.3 then
    local a, b = pick(kinds), pick(kinds)
    if a == b then q[#q + 1] = "kinds=" .. a else q[#q + 1] = "kinds=" .. a .. "," .. b end
  end
  if math.random() < 0.3 then q[#q + 1] = "max_km=" .. pick(kms) end
  q[#q + 1] = "k=" .. math.random(50)
  return "/api/v1/bodies/" .. code .. "/recommendations?" .. table.concat(q, "&")
end

request = function()
  if #fixed > 0 then return wrk.format("GET", pick(fixed)) end
  pos = pos % #codes + 1
  local code, r = codes[pos], math.random()
  if r < groups_share then
    return wrk.format("GET", "/api/v1/bodies/" .. code .. "/groups?service=" .. pick(offered[pos])
      .. "&k=" .. math.random(10))
  elseif r < groups_share + joins_share then
    return wrk.format("GET", "/api/v1/bodies/" .. code .. "/arrangements-to-join?k="
      .. math.random(20))
  end
  return wrk.format("GET", recommendations(code))
end

"""


@dataclass
class Result:
    name: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    load: str
    repeats: str = ""  # the share of questions asked before in the run (an upper bound of hits)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass
class Traffic:
    """What the scripts ask about: every body's code and the services each delivers."""

    codes: list[str]
    offered: list[list[str]]  # by position in ``codes``

    def script(
        self, path: Path, *, fixed: list[str] | None = None, groups: float = 0, joins: float = 0
    ) -> Path:
        def lua(items: list[str]) -> str:
            return ", ".join(json.dumps(i) for i in items)

        text = (
            LUA.replace("{CODES}", "{" + lua(self.codes) + "}")
            .replace("{OFFERED}", "{" + ", ".join("{" + lua(o) + "}" for o in self.offered) + "}")
            .replace("{FIXED}", "{" + lua(fixed or []) + "}")
            .replace("GROUPS, JOINS", f"{groups}, {joins}")
        )
        path.write_text(text)
        return path

    def repeats(self, requests: int, seed: int = 5) -> float:
        """The share of ``requests`` questions of the cold traffic that repeat an earlier one
        (drawn like the script draws them): at most what the cache of answers can serve."""
        rng = random.Random(seed)
        seen: set[tuple[object, ...]] = set()
        again = 0
        for i in range(requests):
            question = (
                self.codes[i % len(self.codes)],
                rng.choice(self.offered[i % len(self.codes)]) if rng.random() < 0.5 else None,
                tuple(sorted({rng.randrange(5), rng.randrange(5)})) if rng.random() < 0.3 else (),
                rng.randrange(5) if rng.random() < 0.3 else None,
                rng.randint(1, 50),
            )
            again += question in seen
            seen.add(question)
        return again / max(requests, 1)

    def varied(self, count: int, seed: int = 11) -> list[str]:
        """``count`` questions like the cold traffic's (seeded: the same each run)."""
        rng = random.Random(seed)
        kinds = ["council", "fire", "police", "health", "combined"]
        out = []
        for i in range(count):
            at = (i * 7) % len(self.codes)
            query = []
            if rng.random() < 0.5:
                query.append(f"service={rng.choice(self.offered[at])}")
            if rng.random() < 0.3:
                query.append("kinds=" + ",".join(dict.fromkeys(rng.choices(kinds, k=2))))
            if rng.random() < 0.3:
                query.append(f"max_km={rng.choice([10, 25, 50, 100, 200])}")
            query.append(f"k={rng.randint(1, 50)}")
            out.append(f"/api/v1/bodies/{self.codes[at]}/recommendations?" + "&".join(query))
        return out


def traffic_of(base: str) -> Traffic:
    """Every body the server at ``base`` knows, with the services its tier delivers."""
    listed = get_json(base + "api/v1/bodies?limit=500")
    bodies = listed["bodies"]
    while len(bodies) < listed["total"]:
        listed = get_json(base + f"api/v1/bodies?limit=500&offset={len(bodies)}")
        bodies += listed["bodies"]
    by_tier: dict[str, list[str]] = {}
    for service in get_json(base + "api/v1/services")["services"]:
        for tier in service["delivered_by"]:
            by_tier.setdefault(tier, []).append(service["id"])
    return Traffic([b["code"] for b in bodies], [by_tier[b["tier"]] for b in bodies])


def run(settings: Settings) -> None:
    """Serve, measure health and the varied traffic (cold, mixed, warmed), soak; print."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("\nservice benchmark skipped: wrk is not installed (make system-deps)")
        return
    with tempfile.TemporaryDirectory(prefix="recommender-bench-") as name:
        folder = Path(name)
        env = {
            "RECOMMENDER_DATA_DIR": str(settings.data),
            "RECOMMENDER_MODELS_DIR": str(folder / "models"),
            "RECOMMENDER_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        }
        first = _private_model(settings, folder / "models", env)
        results, health, traffic, memory = _load_test(wrk, folder, env)
        _report(results, health)
        _report_memory(memory)
        second = _train(env, seed=1)
        _soak(wrk, folder, env, traffic, first, second)


def _private_model(settings: Settings, models: Path, env: dict[str, str]) -> str:
    """Copy the promoted model into the private models folder (train one when there is none)."""
    from recommender.model import artifacts

    version = artifacts.promoted_version(settings)
    private = settings.with_(models_dir=models)
    if version is None:
        print("no promoted model: training one for the benchmark", flush=True)
        return _train(env, seed=0, promote=True)
    models.mkdir(parents=True, exist_ok=True)
    shutil.copytree(settings.models / version, models / version)
    artifacts.promote(version, private)
    return version


def _train(env: dict[str, str], *, seed: int, promote: bool = False) -> str:
    from recommender.model import artifacts

    args = [command(), "train", "--no-evaluate", "--seed", str(seed)]
    subprocess.run(
        [*args, "--promote"] if promote else args,
        env=os.environ | env,
        check=True,
        capture_output=True,
    )
    models = Settings.from_env().with_(models_dir=Path(env["RECOMMENDER_MODELS_DIR"]))
    return artifacts.versions(models)[-1]


Memory = dict[str, list[dict[str, float]]]  # each worker's, at a moment


def _load_test(
    wrk: str, folder: Path, env: dict[str, str]
) -> tuple[list[Result], dict[str, object], Traffic, Memory]:
    port = free_port()
    server = start_server(env, folder / "server.log", port)
    base = f"http://127.0.0.1:{port}/"
    try:
        health = wait_for(base + "api/v1/health", server)
        wait_listening(port, DEFAULT_WORKERS)
        memory = {"at start": worker_memory(server, expect=DEFAULT_WORKERS)}
        traffic = traffic_of(base)
        health_script = traffic.script(folder / "health.lua", fixed=["/api/v1/health"])
        cold = traffic.script(folder / "cold.lua")
        mixed = traffic.script(folder / "mixed.lua", groups=0.1, joins=0.1)
        warmed = traffic.script(folder / "warmed.lua", fixed=traffic.varied(WARM_URLS))

        def health_run(when: str) -> Result:
            return _wrk(wrk, f"health ({when})", base, health_script, HEALTH_S)

        results = [
            health_run("before"),
            _wrk(wrk, "recommendations, cold (no warm-up)", base, cold, DURATION_S),
        ]
        memory["after the cold run"] = worker_memory(server)
        results += [
            health_run("after cold"),
            _wrk(wrk, "mixed: 80% recommendations, 10% groups, 10% joins", base, mixed, MIXED_S),
            health_run("after mixed"),
        ]
        for result in results[1::2]:
            result.repeats = f"≤ {traffic.repeats(result.requests):.1%}"
        _wrk(wrk, "warm-up", base, warmed, WARM_UP_S)
        results.append(_wrk(wrk, "recommendations, warmed (cache)", base, warmed, DURATION_S))
        results[-1].repeats = f"all ({WARM_URLS} questions)"
        results.append(health_run("after warmed"))
    finally:
        stop_server(server)
    health["bodies"] = len(traffic.codes)
    return results, health, traffic, memory


def _wrk(
    wrk: str, name: str, base: str, script: Path, seconds: int, timeout: int = TIMEOUT_S
) -> Result:
    _settle(base)
    command_line = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    command_line += [f"--timeout={timeout}s", "--latency", "-s", str(script), base]
    done = subprocess.run(
        command_line, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    return _parse(name, done.stdout)


SETTLED_MS = 20.0  # a health answer quicker than this: nothing left queued before it
SETTLED_TIMES = 5  # that many in a row
SETTLE_MAX_S = 60.0


def _settle(base: str) -> None:
    """Wait until the server has answered what the run before left queued (wrk stops sending,
    not the server answering): health answered quickly :data:`SETTLED_TIMES` times in a row.
    Otherwise the run after mixed traffic, whose groups and joins take up to a second each,
    began behind a queue of them, and its first request on each connection timed out."""
    quick, deadline = 0, time.monotonic() + SETTLE_MAX_S
    while quick < SETTLED_TIMES and time.monotonic() < deadline:
        started = time.perf_counter()
        with urllib.request.urlopen(base + "api/v1/health", timeout=SETTLE_MAX_S) as response:
            response.read()
        quick = quick + 1 if (time.perf_counter() - started) * 1000 < SETTLED_MS else 0


def _parse(name: str, text: str) -> Result:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if rate is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    percentiles = {
        p: _ms(v, unit) for p, v, unit in re.findall(r"(\d+)%\s+([\d.]+)(us|ms|s)\b", text)
    }
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    connect, read, write, timeouts = (int(n) for n in sockets.groups()) if sockets else (0,) * 4
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    latency = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b", text)
    return Result(
        name=name,
        requests=int(total.group(1)),
        requests_per_s=float(rate.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        max_ms=_ms(*latency.groups()) if latency else float("inf"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=connect + read + write,
        timeouts=timeouts,
        load=load_average(),
    )


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _report(results: list[Result], health: dict[str, object]) -> None:
    rows = [
        [
            r.name,
            r.requests_per_s,
            "" if i % 2 == 0 else _of(r, _health_around(results, i)),
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            r.timeouts,
            r.repeats,
            r.load,
        ]
        for i, r in enumerate(results)
    ]
    table(
        f"Service under varied traffic: recommender serve ({DEFAULT_WORKERS} workers × "
        f"{DEFAULT_THREADS} threads), wrk {THREADS} threads, {CONNECTIONS} connections, "
        f"{DURATION_S} s a run ({MIXED_S} s mixed, {HEALTH_S} s health: each run's \"of health\" "
        f"is of the mean of the health runs before and after it), timeout {TIMEOUT_S} s; model "
        f"{health.get('model_version')}; every one of the {health.get('bodies')} bodies asked "
        "about in turn",
        ["traffic", "req/s", "of health", "p50 ms", "p99 ms", "max ms", "errors", "timeouts",
         "asked before", "load avg"],
        rows,
    )  # fmt: skip
    cold, reference = results[1], _health_around(results, 1)
    ratio = cold.requests_per_s / reference if reference else 0.0
    ok = (
        ratio >= TARGET_RATIO
        and cold.p99_ms < TARGET_P99_MS
        and cold.errors == 0
        and cold.timeouts == 0
    )
    print(
        f"\ncold recommendations / health (the mean of {results[0].requests_per_s:,.0f} before "
        f"and {results[2].requests_per_s:,.0f} after): {ratio:.1%} (target ≥ {TARGET_RATIO:.0%}); "
        f"p99 {cold.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f}); errors {cold.errors}, timeouts "
        f"{cold.timeouts} (target 0): {'met' if ok else 'NOT met'}"
    )


def _report_memory(memory: Memory) -> None:
    if not any(memory.values()):
        print("\nworkers' memory not shown: it is read from Linux's /proc")
        return
    from recommender.webapp.config import DEFAULTS

    table(
        "Memory of each worker, MB (Linux /proc/PID/smaps_rollup): shared is what it still "
        "shares with the master that loaded and prepared the model; private is its own, "
        f"including its cache of answers (at most {DEFAULTS['CACHE_BYTES'] / 2**20:.0f} MB)",
        ["when", "worker", "RSS", "PSS", "private", "shared"],
        [
            [when, i + 1, *(round(w[key]) for key in ("rss", "pss", "private", "shared"))]
            for when, workers in memory.items()
            for i, w in enumerate(workers)
        ],
    )


def _health_around(results: list[Result], i: int) -> float:
    """The mean requests a second of the health runs just before and after run ``i`` (the
    runs alternate: health, another, health, …)."""
    return (results[i - 1].requests_per_s + results[i + 1].requests_per_s) / 2


def _of(result: Result, reference: float) -> str:
    return f"{result.requests_per_s / reference:.1%}" if reference else ""


def _soak(
    wrk: str, folder: Path, env: dict[str, str], traffic: Traffic, first: str, second: str
) -> None:
    token = secrets.token_urlsafe(32)
    port = free_port()
    server = start_server(env | {"RECOMMENDER_ADMIN_TOKEN": token}, folder / "soak.log", port)
    base = f"http://127.0.0.1:{port}/"
    events: dict[str, object] = {}
    try:
        wait_for(base + "api/v1/health", server)
        wait_listening(port, DEFAULT_WORKERS)
        script = traffic.script(folder / "soak.lua")
        started = time.monotonic()
        promoter = threading.Thread(
            target=_promote_midway, args=(base, token, second, started, events), daemon=True
        )
        promoter.start()
        result = _wrk(wrk, "soak", base, script, SOAK_S, timeout=SOAK_TIMEOUT_S)
        promoter.join(timeout=FOLLOW_MORE_S + 30)
        serving = get_json(base + "api/v1/health")["model_version"]
    finally:
        stop_server(server)
    failed = result.errors + result.timeouts
    table(
        f"Soak: {SOAK_S} s of varied recommendations ({CONNECTIONS} connections), a second "
        f"model promoted through the admin API half-way (a request unanswered in "
        f"{SOAK_TIMEOUT_S} s counts as failed)",
        ["step", "at s", "result"],
        [
            ["varied traffic", f"0–{SOAK_S}",
             f"{result.requests:,} requests, {result.requests_per_s:,.0f}/s, p99 "
             f"{result.p99_ms:.0f} ms, slowest {result.max_ms:,.0f} ms (load avg {result.load})"],
            ["POST /api/v1/admin/promote", f"{events.get('promote_at', 0):.1f}",
             f"{events.get('promote_status')} in {events.get('promote_s', 0):.1f} s: "
             f"{first} → {second}"],
            ["every worker on the new model", f"{events.get('followed_at', float('nan')):.1f}",
             f"health names {second} {FOLLOW_CHECKS} times in a row"
             if events.get("followed_at") else "not seen"],
            ["failed requests", "", f"{result.non_2xx} non-2xx, {result.socket_errors} socket "
             f"errors, {result.timeouts} unanswered: {'met' if failed == 0 else 'NOT met'}"
             f" (serving {serving} at the end)"],
        ],
    )  # fmt: skip


FOLLOW_CHECKS = 20  # health asked this many times in a row (it lands on either worker)
FOLLOW_MORE_S = 60  # how long after the soak's traffic the workers are looked at


def _promote_midway(
    base: str, token: str, version: str, started: float, events: dict[str, object]
) -> None:
    time.sleep(SOAK_S / 2)
    request = urllib.request.Request(
        base + "api/v1/admin/promote",
        data=json.dumps({"version": version}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    events["promote_at"] = time.monotonic() - started
    with urllib.request.urlopen(request, timeout=120) as response:
        events["promote_status"] = response.status
    events["promote_s"] = time.monotonic() - started - float(events["promote_at"])  # type: ignore[arg-type]
    seen = 0  # looked for past the traffic's end: a worker prepares the model before serving it
    while time.monotonic() - started < SOAK_S + FOLLOW_MORE_S and seen < FOLLOW_CHECKS:
        with urllib.request.urlopen(base + "api/v1/health", timeout=30) as response:
            seen = seen + 1 if json.loads(response.read())["model_version"] == version else 0
        time.sleep(0.05)
    if seen >= FOLLOW_CHECKS:
        events["followed_at"] = time.monotonic() - started
