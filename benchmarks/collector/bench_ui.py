"""What the web UI's pages cost at scale: each query behind a page, on a store of a million LLM spans.

    python benchmarks/collector/bench_ui.py [--rows 1000000]

The store is filled as in bench_ingest.py's report benchmark (20 models, 500 users, 5,000 sessions, ~2 %
errors, spans made over the last few minutes, a burst; or spread over ``--spread-days`` days, where the
per-minute rollups hold nearly one row per call: their worst case), then ANALYZEd, as a long-running collector's is. Each
query is timed warm, best of 3: the trace list (unfiltered, by model, by user, errors only, a time range,
a page deep into the list), a trace, the dashboard (report per model, cost over time), users and sessions,
and the worst case of the text search (a word found nowhere, so every span's attributes are scanned).
Results go to benchmarks/results/ui.json (ui-spread-<days>d.json when spread).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

from bench_ingest import batch  # noqa: E402

from llmobs.collector import queries  # noqa: E402
from llmobs.collector.store import Store  # noqa: E402


def best(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--spread-days", type=float, default=0,
                        help="spread the calls over this many days (default: all made in the last minutes)")
    options = parser.parse_args()
    rows, spread_s = options.rows, options.spread_days * 86400
    with tempfile.TemporaryDirectory() as d:
        store = Store(d)
        t0 = time.perf_counter()
        done = seed = 0
        while done < rows:
            store.write(batch(seed, 2048, spread_s), signal="traces", spans=2048)
            done += 2048
            seed += 1
        assert store.sync(timeout=1200)
        print(f"filled {done:,} spans in {time.perf_counter() - t0:.0f} s", flush=True)
        sqlite3.connect(store.path).execute("ANALYZE")
        conn = store.reader()
        F = queries.Filters
        newest = conn.execute("SELECT MAX(start_ns) FROM spans").fetchone()[0]
        some_trace = queries.list_traces(conn, F(), 1)[0]["trace_id"]
        minute = 60 * 10**9
        cases = {
            "trace list, newest 50": lambda: queries.list_traces(conn, F(), 50),
            "trace list, by model": lambda: queries.list_traces(conn, F(model="model-3"), 50),
            "trace list, by user": lambda: queries.list_traces(conn, F(user="user-42"), 50),
            "trace list, errors only": lambda: queries.list_traces(conn, F(status="error"), 50),
            "trace list, last minute": lambda: queries.list_traces(conn, F(since_ns=newest - minute), 50),
            "trace list, page 100": lambda: queries.list_traces(conn, F(), 50, offset=4950),
            "one trace": lambda: queries.get_trace(conn, some_trace),
            "dashboard: report per model": lambda: queries.report(conn, F(), ("model",)),
            "dashboard: cost over time, 1 min buckets": lambda: queries.timeseries(conn, F(), 60),
            "dashboard, last 15 min: report": lambda: queries.report(conn, F(since_ns=newest - 15 * minute), ("model",)),
            "dashboard, last 15 min: cost over time": lambda: queries.timeseries(conn, F(since_ns=newest - 15 * minute), 60),
            "dashboard, last 24 h: cost over time, 1 h buckets": lambda: queries.timeseries(conn, F(since_ns=newest - 1440 * minute), 3600),
            "dashboard, all time: cost over time, 1 d buckets": lambda: queries.timeseries(conn, F(), 86400),
            "dashboard, last minute: report": lambda: queries.report(conn, F(since_ns=newest - minute), ("model",)),
            "dashboard, last minute: cost over time": lambda: queries.timeseries(conn, F(since_ns=newest - minute), 60),
            "users, top 50 by cost": lambda: queries.usage(conn, F(), "user", 50, 0),
            "users, last 15 min": lambda: queries.usage(conn, F(since_ns=newest - 15 * minute), "user", 50, 0),
            "sessions, top 50 by cost": lambda: queries.usage(conn, F(), "session", 50, 0),
            "text search, a word found nowhere": lambda: queries.list_traces(conn, F(text="zyxwvut"), 50),
        }
        results: dict[str, float] = {}
        for name, fn in cases.items():
            results[name] = best(fn)
            print(f"{name:<45} {results[name]:>7.3f} s", flush=True)
        store.close()
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"ui-spread-{options.spread_days:g}d.json" if spread_s else "ui.json"
    (out / name).write_text(json.dumps({"rows": done, "spread_days": options.spread_days, **results}, indent=2))


if __name__ == "__main__":
    main()
