"""Helpers for the benchmarks: run a measured step in a fresh process, print tables, run a
server under test."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def measure(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run Python ``code`` in a fresh interpreter; it must print one JSON object last.

    Returns that object plus ``wall_s`` (the whole process) and ``peak_mb`` (its peak
    resident memory, from the kernel).
    """
    script = (
        "import json, resource, sys, time\n"
        + code
        + "\nresult['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(result))\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def run_command(args: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a command (its output discarded); raises if it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        list(args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a titled plain-text table."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print(f"\n{title}\n")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print(
            "  ".join(
                c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True)
            ).rstrip()
        )
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


# A server under test --------------------------------------------------------------------------


def command() -> str:
    """The ``recommender`` command of this environment."""
    return str(Path(sys.executable).with_name("recommender"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    """Start ``recommender serve`` (its defaults) on 127.0.0.1:``port`` with ``env`` added."""
    out = log.open("wb")
    return subprocess.Popen(
        [command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=os.environ | env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def get_json(url: str, timeout: float = 60) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(url: str, server: subprocess.Popen[bytes], timeout: float = 300) -> Any:
    """Wait until ``url`` answers (the server has loaded and prepared its model); return it."""
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"recommender serve exited with status {server.returncode}")
        try:
            return get_json(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def wait_listening(port: int, count: int, timeout: float = 60) -> None:
    """Wait up to ``timeout`` seconds until ``count`` sockets listen on ``port`` (one a worker:
    ``recommender serve`` gives each its own), read from Linux's ``/proc/net/tcp`` (not waited
    for where it cannot be read); raise if fewer do by then, as a run on fewer workers would
    measure something else. The server answers once its first worker is up, and a client that
    opens its kept-alive connections before the other listens sends them all to the first: a
    soak ran at a third of its speed on one worker, the other idle."""
    if not Path("/proc/net/tcp").exists():
        return
    deadline = time.monotonic() + timeout
    while (found := _listening(port)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{found} of the server's {count} workers listen on port {port} after "
                f"{timeout:g} s: see the server's log"
            )
        time.sleep(0.1)


def _listening(port: int) -> int:
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()  # local address (hex IP:port) is the 2nd, state the 4th
            if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                count += int(fields[1].rsplit(":", 1)[1], 16) == port
    return count


def load_average() -> str:
    """The 1-minute load average now (other work on the machine skews every figure)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def worker_memory(
    server: subprocess.Popen[bytes], expect: int = 0, timeout: float = 60
) -> list[dict[str, float]]:
    """Each worker's memory in MB, from Linux's ``/proc/PID/smaps_rollup`` (an empty list
    elsewhere): ``rss`` resident, ``pss`` its share (the pages it shares with the master and
    the other workers divided among them), ``private`` its own, ``shared`` still shared with
    the master (what the master loaded and prepared before the workers forked, until a
    worker writes to a page of it). With ``expect``, waits up to ``timeout`` seconds for that
    many workers (the server answers as soon as its first is up)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = _workers_memory(server)
        if not workers or len(workers) >= expect or time.monotonic() > deadline:
            return workers
        time.sleep(0.2)


def _workers_memory(server: subprocess.Popen[bytes]) -> list[dict[str, float]]:
    workers = []
    for stat in sorted(Path("/proc").glob("[0-9]*/stat")):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != server.pid:  # the parent's pid
                continue
            rollup = (stat.parent / "smaps_rollup").read_text()
        except (OSError, IndexError, ValueError):
            continue  # gone, or not readable
        kb = {
            key: float(value)
            for key, value in re.findall(r"^(\w+):\s+(\d+) kB$", rollup, flags=re.MULTILINE)
        }
        workers.append(
            {
                "rss": kb.get("Rss", 0) / 1024,
                "pss": kb.get("Pss", 0) / 1024,
                "private": (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024,
                "shared": (kb.get("Shared_Clean", 0) + kb.get("Shared_Dirty", 0)) / 1024,
            }
        )
    return workers
