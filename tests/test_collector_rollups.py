"""The collector's rollups (by day, hour and minute): the dashboard's and the users/sessions pages' figures
equal a direct computation over the spans sent, for any time range (whole buckets from the rollups, partial
minutes from the spans), with retried spans counted once; an index of an older layout is rebuilt; retention
drops rollups and the figures stay exact."""

from __future__ import annotations

import random
import sqlite3
import time

import pytest

from llmobs.collector import Store
from llmobs.collector import queries as q
from llmobs.collector.rollup import MINUTE_NS
from tests.test_collector import kv, request, span

T0 = 1_800_000_000 * 10**9  # a whole hour, 8 hours into a UTC day
HOUR, DAY = 60 * MINUTE_NS, 1440 * MINUTE_NS
MODELS = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude", "anthropic")]


def calls(seed=7, n=400):
    """n LLM calls over ~10 minutes, as (span, facts) with the facts a direct computation needs."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        model, provider = MODELS[rnd.randrange(3)]
        # half in a 10-minute burst, half spread over three days (day, hour and minute buckets all used)
        start = T0 + rnd.randrange(10 * MINUTE_NS) if i % 2 else T0 + rnd.randrange(3 * DAY)
        dur_ms = rnd.randrange(5, 3000)
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model}
        n_in = rnd.randrange(1, 500) if rnd.random() < 0.9 else None
        n_out = rnd.randrange(1, 200) if rnd.random() < 0.9 else None
        cost = rnd.randrange(1, 1000) / 1e5 if rnd.random() < 0.8 else None
        ttfc = dur_ms / 1000 * 0.3 if rnd.random() < 0.5 else None
        user = f"u{rnd.randrange(6)}" if rnd.random() < 0.8 else None
        session = f"s{rnd.randrange(15)}" if user else None
        for key, value in (("gen_ai.usage.input_tokens", n_in), ("gen_ai.usage.output_tokens", n_out),
                           ("llmobs.cost.total_usd", cost), ("gen_ai.response.time_to_first_chunk", ttfc),
                           ("user.id", user), ("session.id", session)):
            if value is not None:
                attrs[key] = value
        s = span(1000 + i // 3, i + 1, name=f"chat {model}", start=start, dur_ms=dur_ms, error=rnd.random() < 0.1)
        s.attributes.extend(kv(k, v) for k, v in attrs.items())
        out.append((s, {"model": model, "provider": provider, "service": f"svc{i % 2}", "start": start,
                        "dur": dur_ms / 1000, "err": s.status.code == 2, "in": n_in, "out": n_out, "cost": cost,
                        "user": user, "session": session, "trace": f"{1000 + i // 3:032x}"}))
    return out


def total(values):
    values = [v for v in values if v is not None]
    return sum(values) if values else None


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    store = Store(str(tmp_path_factory.mktemp("rollups")))
    sent = calls()
    for svc in ("svc0", "svc1"):
        mine = [s for s, f in sent if f["service"] == svc]
        for i in range(0, len(mine), 50):
            body = request(*mine[i:i + 50], service=svc).SerializeToString()
            store.write(body, signal="traces", spans=len(mine[i:i + 50]))
        retried = request(*mine[:20], mine[5], service=svc).SerializeToString()  # a retry, one span twice
        store.write(retried, signal="traces", spans=21)
    # spans that are not LLM calls and a root span with a user: no effect on the figures
    store.write(request(span(1000, 9999, name="workflow", user__id="u1"), span(5, 5)).SerializeToString(),
                signal="traces", spans=2)
    assert store.sync()
    yield store, [f for _, f in sent]
    store.close()


RANGES = {
    "all": (None, None),
    "since inside a minute": (T0 + 2 * MINUTE_NS + 17_123_456_789, None),
    "until inside a minute": (None, T0 + 7 * MINUTE_NS + 3_000_000_001),
    "both inside minutes": (T0 + MINUTE_NS + 1, T0 + 8 * MINUTE_NS + 59 * 10**9),
    "within one minute": (T0 + 4 * MINUTE_NS + 10**9, T0 + 4 * MINUTE_NS + 40 * 10**9),
    "across one boundary": (T0 + 4 * MINUTE_NS + 10**9, T0 + 5 * MINUTE_NS + 40 * 10**9),
    "whole minutes": (T0 + 3 * MINUTE_NS, T0 + 6 * MINUTE_NS),
    "across days, inside minutes": (T0 + 5 * HOUR + 7 * MINUTE_NS + 3, T0 + 2 * DAY + 11 * HOUR + 13 * 10**9),
    "whole days": (T0 + 16 * HOUR, T0 + 16 * HOUR + 2 * DAY),
    "from inside a day on": (T0 + DAY + 3 * HOUR + 17, None),
    "until inside a day": (None, T0 + 2 * DAY + 90 * MINUTE_NS + 5),
}


def in_range(facts, since, until):
    return [f for f in facts if (since is None or f["start"] >= since) and (until is None or f["start"] < until)]


@pytest.mark.parametrize("name", RANGES)
def test_dashboard_figures_equal_a_direct_computation(stored, name):
    store, facts = stored
    since, until = RANGES[name]
    chosen = in_range(facts, since, until)
    assert chosen
    conn = store.reader()
    filters = q.Filters(since_ns=since, until_ns=until)
    fast = {r["model"]: r for r in q.report(conn, filters, ("model",))}
    exact = {r["model"]: r for r in q._exact_report(conn, filters, ("model",))}
    assert set(fast) == {f["model"] for f in chosen} == set(exact)
    for model, row in fast.items():
        mine = [f for f in chosen if f["model"] == model]
        assert row["calls"] == len(mine) and row["errors"] == sum(f["err"] for f in mine)
        assert row["input_tokens"] == total(f["in"] for f in mine)
        assert row["output_tokens"] == total(f["out"] for f in mine)
        assert row["cost_usd"] == pytest.approx(total(f["cost"] for f in mine))
        for field in ("latency_p50_s", "latency_p95_s", "latency_p99_s", "ttfc_p50_s", "ttfc_p95_s",
                      "output_tokens_per_s"):
            want = exact[model][field]
            assert row[field] == (None if want is None else pytest.approx(want, rel=0.011)), field
    for bucket in (60, 120, 90):  # 90 s buckets are not whole minutes: read from the spans
        series = q.timeseries(conn, filters, bucket)
        width = bucket * 10**9
        expected = {}
        for f in chosen:
            key = (f["start"] // width * width, f["model"])
            expected.setdefault(key, []).append(f)
        assert [(r["start_ns"], r["model"]) for r in series] == sorted(expected)
        for r in series:
            mine = expected[(r["start_ns"], r["model"])]
            assert (r["calls"], r["errors"]) == (len(mine), sum(f["err"] for f in mine))
            assert (r["input_tokens"], r["output_tokens"]) == (total(f["in"] for f in mine),
                                                                total(f["out"] for f in mine))
            assert r["cost_usd"] == pytest.approx(total(f["cost"] for f in mine))
            durations = sorted(f["dur"] for f in mine)  # nearest rank, within 1 % (2 %-wide buckets)
            for p in (50, 95):
                exact_p = durations[-(-len(durations) * p // 100) - 1]
                assert r[f"latency_p{p}_s"] == pytest.approx(exact_p, rel=0.011)


@pytest.mark.parametrize("name", RANGES)
@pytest.mark.parametrize("by", ["user", "session"])
def test_users_and_sessions_equal_a_direct_computation(stored, name, by):
    store, facts = stored
    since, until = RANGES[name]
    chosen = in_range(facts, since, until)
    conn = store.reader()
    rows = q.usage(conn, q.Filters(since_ns=since, until_ns=until), by, limit=1000)
    # the same page computed over the spans (a filter every call matches takes that path)
    slow = q.usage(conn, q.Filters(since_ns=since, until_ns=until, status=None, service=None, provider=None,
                                   model=None, text="", user="", session=""), by, limit=1000)
    groups = {}
    for f in chosen:
        groups.setdefault(f[by], []).append(f)
    assert {r[by] for r in rows} == set(groups)
    for r in rows:
        mine = groups[r[by]]
        assert (r["calls"], r["errors"]) == (len(mine), sum(f["err"] for f in mine))
        assert (r["input_tokens"], r["output_tokens"]) == (total(f["in"] for f in mine),
                                                           total(f["out"] for f in mine))
        assert r["cost_usd"] == pytest.approx(total(f["cost"] for f in mine))
        assert (r["first_ns"], r["last_ns"]) == (min(f["start"] for f in mine), max(f["start"] for f in mine))
        assert r["traces"] == (len({f["trace"] for f in mine}) if r[by] is not None else None)
        if by == "session":
            assert r["user"] == max((f["user"] for f in mine if f["user"]), default=None)
    # most expensive first, and one page is a slice of the whole ranking
    costs = [(r["cost_usd"] is None, -(r["cost_usd"] or 0)) for r in rows]
    assert costs == sorted(costs)
    page = q.usage(conn, q.Filters(since_ns=since, until_ns=until), by, limit=3, offset=2)
    assert page == rows[2:5]
    assert {r[by]: r["calls"] for r in slow} == {r[by]: r["calls"] for r in rows}
    assert {r[by]: r["traces"] for r in slow} == {r[by]: r["traces"] for r in rows}
    assert q.usage(conn, q.Filters(provider="anthropic"), by, limit=1000)  # another filter: over the spans


def test_filters_on_the_rollups(stored):
    store, facts = stored
    conn = store.reader()
    for filters, keep in (
        (q.Filters(provider="anthropic"), lambda f: f["provider"] == "anthropic"),
        (q.Filters(status="error"), lambda f: f["err"]),
        (q.Filters(status="ok", model="gpt-4o"), lambda f: not f["err"] and f["model"] == "gpt-4o"),
        (q.Filters(service="svc1", since_ns=T0 + 90 * 10**9), lambda f: f["service"] == "svc1"
         and f["start"] >= T0 + 90 * 10**9),
    ):
        mine = [f for f in facts if keep(f)]
        rows = q.report(conn, filters, ("provider", "service"))
        assert sum(r["calls"] for r in rows) == len(mine)
        assert {(r["provider"], r["service"]) for r in rows} == {(f["provider"], f["service"]) for f in mine}
        assert sum(r["calls"] for r in q.timeseries(conn, filters, 60)) == len(mine)


def test_an_index_of_an_older_layout_is_rebuilt_from_the_received_requests(tmp_path):
    store = Store(str(tmp_path))
    sent = calls(seed=3, n=60)
    store.write(request(*[s for s, _ in sent]).SerializeToString(), signal="traces", spans=len(sent))
    assert store.sync()
    before = q.report(store.reader(), q.Filters(), ("model",))
    store.close()
    conn = sqlite3.connect(tmp_path / "llmobs.db")  # as the first release left it
    conn.execute("DELETE FROM meta WHERE key = 'schema'")
    conn.execute("DROP TABLE llm_rollup")
    conn.execute("CREATE TABLE llm_calls (model TEXT)")
    conn.commit()
    conn.close()
    store = Store(str(tmp_path))
    try:
        assert store.count() == 60
        assert q.report(store.reader(), q.Filters(), ("model",)) == before
        tables = {r[0] for r in store.reader().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "llm_calls" not in tables and "llm_rollup" in tables
    finally:
        store.close()


def test_after_retention_the_figures_are_those_of_the_spans_kept(tmp_path):
    """Retention cuts through a day and an hour bucket: those go, and queries read the hours and minutes
    after the cutoff from finer buckets, so every figure still equals the spans kept."""
    store = Store(str(tmp_path), retention_s=30 * 3600)
    now = time.time_ns()
    rnd = random.Random(5)
    spans, starts = [], []
    for i in range(300):
        start = now - rnd.randrange(3 * DAY)
        starts.append(start)
        spans.append(span(50 + i, i + 1, start=start, gen_ai__operation__name="chat", gen_ai__request__model="m",
                          gen_ai__usage__input_tokens=i, user__id=f"u{i % 4}"))
    store.write(request(*spans).SerializeToString(), signal="traces", spans=len(spans))
    assert store.sync()
    store.apply_retention()
    kept = [(i, s) for i, s in enumerate(starts) if s >= (now - 30 * 3600 * 10**9) // MINUTE_NS * MINUTE_NS]
    assert 0 < len(kept) < 300 and store.count() == len(kept)
    conn = store.reader()
    for since in (None, now - 40 * 3600 * 10**9, now - 29 * 3600 * 10**9 + 12345):
        mine = [i for i, s in kept if since is None or s >= since]
        (row,) = q.report(conn, q.Filters(since_ns=since), ("model",))
        assert (row["calls"], row["input_tokens"]) == (len(mine), sum(mine))
        assert sum(r["calls"] for r in q.timeseries(conn, q.Filters(since_ns=since), 3600)) == len(mine)
        assert sum(r["calls"] for r in q.usage(conn, q.Filters(since_ns=since), "user")) == len(mine)
    store.close()


def test_retention_drops_old_minutes_from_the_rollups(tmp_path):
    store = Store(str(tmp_path), retention_s=3600)
    now = time.time_ns()
    old = span(7, 1, start=now - 7200 * 10**9, gen_ai__operation__name="chat", user__id="a")
    new = span(7, 2, start=now, gen_ai__operation__name="chat", user__id="a")
    store.write(request(old, new).SerializeToString(), signal="traces", spans=2)
    assert store.sync()
    conn = store.reader()
    assert q.report(conn, q.Filters(), ("model",))[0]["calls"] == 2
    store.apply_retention()
    assert store.count() == 1
    assert q.report(conn, q.Filters(), ("model",))[0]["calls"] == 1
    assert [r["calls"] for r in q.usage(conn, q.Filters(), "user")] == [1]
    assert sum(r["calls"] for r in q.timeseries(conn, q.Filters(), 60)) == 1
    store.close()


def test_a_range_is_tiled_by_the_coarsest_buckets_that_fit():
    from llmobs.collector.rollup import pieces, split

    # 3 days and a bit: whole days in the middle, hours and minutes only at the ends
    assert pieces(100, 4980) == [(1440, 1440, 4320), (60, 120, 1440), (1, 100, 120), (60, 4320, 4980)]
    assert pieces(None, None) == [(1440, None, None)]
    assert pieces(1440 * 3 + 5, 1440 * 3 + 30) == [(1, 4325, 4350)]
    buckets, edges = split(T0 + 17, T0 + DAY + 5)
    assert edges == [(T0 + 17, T0 + MINUTE_NS), (T0 + DAY, T0 + DAY + 5)]
    assert buckets == [(60, T0 // MINUTE_NS + 60, (T0 + DAY) // MINUTE_NS), (1, T0 // MINUTE_NS + 1, T0 // MINUTE_NS + 60)]
    assert all(level == 1 for level, _, _ in split(None, None, within=2)[0])  # 2-minute series: minutes only
    # after a retention at minute 500, nothing before it is read, and the hour and day holding it not at all
    assert split(None, None, retained_from=500) == ([(1440, 1440, None), (60, 540, 1440), (1, 500, 540)], [])
