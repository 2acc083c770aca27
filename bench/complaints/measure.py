"""Timing one page of the complaints bench: median and p95 of repeated requests, the queries of
one request, and why the slowest query is slow (EXPLAIN ANALYZE) or where Python spends the time
(cProfile)."""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import statistics
import time
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class Result:
    name: str
    url: str
    budget_ms: float
    list_page: bool
    query_budget: int | None
    median_ms: float
    p95_ms: float
    cpu_ms: float
    queries: int
    sql_share: float
    slowest_sql: str
    slowest_ms: float
    profile: str


def measure(
    client,
    name: str,
    urls: list[str],
    *,
    budget_ms: float,
    list_page: bool,
    warmup: int,
    repeat: int,
    headers: dict | None = None,
    profile_top: bool = False,
    http=None,
    server_cpu=None,
    query_budget: int | None = None,
) -> Result:
    """Time `urls` over HTTP with `http` (an over_http.HttpUser; `server_cpu()` the gunicorn
    workers' CPU seconds so far), or in-process with `client` when `http` is None; the
    queries, the EXPLAIN and the profile always come from one in-process request of `client`."""
    headers = headers or {}
    timer = http or client
    for i in range(warmup):
        response = timer.get(urls[i % len(urls)], headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {urls[i % len(urls)]} answered {response.status_code}")
    cpu_clock = server_cpu or time.process_time
    times = []
    c0 = cpu_clock()
    for i in range(repeat):
        url = urls[i % len(urls)]
        t0 = time.perf_counter()
        response = timer.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    # The mean CPU per request (the workers' clock ticks are 10 ms: a per-request median is 0).
    cpu_ms = (cpu_clock() - c0) * 1000 / repeat
    durations: list[float] = []

    def timed(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append((time.perf_counter() - t0) * 1000)

    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
        t0 = time.perf_counter()
        response = client.get(urls[0], headers=headers)
        one_ms = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200
    assert len(durations) == len(ctx.captured_queries)
    worst = max(range(len(durations)), key=durations.__getitem__)
    # Read now: the next request (profile) clears the connection's query log.
    slowest_sql = ctx.captured_queries[worst]["sql"]
    queries = len(ctx.captured_queries)
    profile = _profile(client, urls[0], headers) if profile_top else ""
    times.sort()
    return Result(
        name=name,
        url=urls[0] + (f"  (+{len(urls) - 1} others)" if len(urls) > 1 else ""),
        budget_ms=budget_ms,
        list_page=list_page,
        query_budget=query_budget,
        median_ms=statistics.median(times),
        cpu_ms=cpu_ms,
        p95_ms=times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        queries=queries,
        sql_share=sum(durations) / one_ms,
        slowest_sql=slowest_sql,
        slowest_ms=durations[worst],
        profile=profile,
    )


def _profile(client, url: str, headers: dict, top: int = 25) -> str:
    """Where the time of one request goes (cProfile, by cumulative time, Django's request
    plumbing left out so the page's own work shows)."""
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url, headers=headers)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"^(?!.*(handlers|middleware|test/client|contextlib|utils/deprecation))", top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
    return "\n".join(f"      {ln}" for ln in lines[start : start + top + 1])


def explain(sql: str, *, max_lines: int = 30) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured query, and what in it reads many rows: a
    sequential scan that filters rows away or a sort over many rows means no index serves it."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return "      (not a SELECT; not explained)"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    flagged = []
    for i, line in enumerate(plan):
        text = line.strip()
        if text.startswith("->"):
            text = text[2:].strip()
        rows = re.search(r"actual time=[\d.]+\.\.([\d.]+) rows=(\d+)", line)
        if text.startswith("Seq Scan") and rows and int(rows.group(2)) > 1000:
            flagged.append(text)
        if text.startswith("Seq Scan"):
            removed = next((p for p in plan[i + 1 : i + 4] if "Rows Removed by Filter" in p), "")
            if removed and int(removed.split(":")[1]) > 1000:
                flagged.append(f"{text} / {removed.strip()}")
        if text.startswith(("Sort  (", "Incremental Sort  (")):
            child = next((p for p in plan[i + 1 :] if "->" in p), "")
            n = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)", child)
            sorted_rows = int(n.group(1)) * int(n.group(2)) if n else 0
            if sorted_rows > 1000:
                method = next((p.strip() for p in plan[i + 1 : i + 4] if "Sort Method" in p), "")
                flagged.append(f"{text.split('  (')[0]} over {sorted_rows:,} rows ({method})")
    tail = [line for line in plan[-3:] if "Time:" in line]
    body = plan if len(plan) <= max_lines else [*plan[: max_lines - 3], "...", *tail]
    out = "\n".join(f"      {line}" for line in body)
    if flagged:
        out += "\n    no index serves: " + "\n    no index serves: ".join(dict.fromkeys(flagged))
    else:
        out += "\n    every scan in this plan uses an index (no sequential scan or big sort)"
    planning = next((line for line in plan if "Planning Time" in line), "")
    if planning and float(re.findall(r"[\d.]+", planning)[0]) > 3:
        out += f"\n    planning is slow ({planning.strip()}): many joins in one statement"
    return out
