"""Joins end to end (issue 5 item 6): regular INNER / LEFT / RIGHT / FULL joins, a join over
a changelog (a GROUP BY) and interval joins (INNER and LEFT) over event time, checked
against SQLite as the oracle.

Seeded rows (tests/it/sql/oracle/rows.py) go as JSON records into two Weir topics of 3 and
2 partitions (round-robin, so partitions are out of order with each other) and into
SQLite. Each query runs as a bounded `weir sql -e` at parallelism 2 and prints Flink's
tableau; its changelog is applied (+I/+U add a row, -U/-D take an identical row away, as
Flink's retractions carry the old row) and the final multiset is compared with SQLite's
result of the same query. For the interval joins each row's event time is its id in
seconds plus a jitter of up to 29 s (out of order within a partition too, behind a
watermark of 60 s), computed the same way in SQLite. Last, a join's state carried across a
SIGTERM savepoint and --from-savepoint, and 'table.exec.state.ttl' expiring a join key.
"""

import collections
import json
import os
import random
import re
import sqlite3
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import rows as rowgen  # noqa: E402
import sqltest  # noqa: E402
from conftest import create_topic, require_bin, wait_until  # noqa: E402
from clients import producer  # noqa: E402

N_LEFT = int(os.environ.get("WEIR_IT_SQL_JOIN_ROWS", "1500"))
N_RIGHT = N_LEFT * 2 // 3
TOPICS = (("ev", 4343, N_LEFT, 3), ("ev2", 5454, N_RIGHT, 2))

# the event time of a row, in seconds after 2024-01-01 (the same text for Flink and SQLite)
JITTER = "MOD(ABS(COALESCE(k, 0)) * 7, 30)"
SQLITE_JITTER = "(abs(coalesce(%s.k, 0)) * 7 %% 30)"


@pytest.fixture(scope="module")
def data(broker):
    weir = require_bin()
    tag = "%08x" % random.getrandbits(32)
    db = sqlite3.connect(":memory:")
    topics = {}
    for table, seed, n, parts in TOPICS:
        topic = "join-%s-%s" % (table, tag)
        topics[table] = topic
        create_topic(broker.bootstrap, topic, partitions=parts)
        rows = rowgen.make_rows(seed, n, 1)
        rnd = random.Random(seed + 1)
        positions = sqltest.produce_values(producer(broker.bootstrap, linger_ms=20), topic,
                                           [(i % parts, rowgen.encode_json(rnd, r)) for i, r in enumerate(rows)])
        rowgen.load_sqlite(db, table, rows, positions)
    return {"weir": weir, "bootstrap": broker.bootstrap, "topics": topics, "db": db}


def source_ddl(data, event_time=False):
    extra = ""
    if event_time:
        extra = (",\n  ets AS CAST(TIMESTAMPADD(SECOND, CAST(id + %s AS INT), TIMESTAMP '2024-01-01 00:00:00') "
                 "AS TIMESTAMP(3)),\n  WATERMARK FOR ets AS ets - INTERVAL '60' SECOND" % JITTER)
    text = "SET 'parallelism.default' = '2';\n"
    for table, _seed, _n, _parts in TOPICS:
        text += """CREATE TABLE %s (
%s%s
) WITH (
  'connector' = 'kafka',
  'topic' = '%s',
  'properties.bootstrap.servers' = '%s',
  'properties.group.id' = 'join-it',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json'
);
""" % (table, rowgen.COLUMNS_DDL, extra, data["topics"][table], data["bootstrap"])
    return text


def cell(typ, text):
    if text == "<NULL>":
        return None
    if typ in ("INT", "BIGINT"):
        return int(text)
    return text


def run_case(data, columns, flink, sqlite, what, event_time=False):
    script = source_ddl(data, event_time) + flink + ";\n"
    return sqltest.run_changelog_case(data["weir"], data["bootstrap"], script, columns, data["db"], sqlite, what, cell,
                                      want_rows=True)


PAIR = [("aid", "BIGINT"), ("bid", "BIGINT"), ("k", "INT")]


def test_inner_join_matches_sqlite(data):
    """An equi-join with a residual condition between the sides (NULL keys never match)."""
    kinds = run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, a.k FROM ev AS a JOIN ev2 AS b ON a.k = b.k AND a.amount > b.amount",
        "SELECT a.id, b.id, a.k FROM ev AS a JOIN ev2 AS b ON a.k = b.k AND a.amount > b.amount",
        "inner")
    assert set(kinds) == {"+I"}, kinds


def test_left_join_matches_sqlite(data):
    """Left rows without a (flagged) match come out padded, and are retracted when one arrives.
    Whether any padded row is retracted here depends on which topic's rows the workers read
    first, so this compares the final state only; tests/unit/test_sql_join.c pins the row
    kinds (+I padded, -D, +I matched) with a fixed arrival order."""
    run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, b.k FROM ev AS a LEFT JOIN ev2 AS b ON a.k = b.k AND b.flag",
        "SELECT a.id, b.id, b.k FROM ev AS a LEFT JOIN ev2 AS b ON a.k = b.k AND b.flag",
        "left")


def test_right_join_matches_sqlite(data):
    cols = [("aid", "BIGINT"), ("bid", "BIGINT"), ("cat", "STRING")]
    run_case(
        data, cols,
        "SELECT a.id AS aid, b.id AS bid, b.cat FROM ev AS a RIGHT JOIN ev2 AS b ON a.k = b.k AND a.price > 600",
        "SELECT a.id, b.id, b.cat FROM ev2 AS b LEFT JOIN ev AS a ON a.k = b.k AND a.price > 600",
        "right")


def test_full_join_matches_sqlite(data):
    """Both sides padded; keys on two columns (k and cat)."""
    cols = [("aid", "BIGINT"), ("bid", "BIGINT"), ("cat", "STRING")]
    kinds = run_case(
        data, cols,
        "SELECT a.id AS aid, b.id AS bid, a.cat FROM ev AS a FULL OUTER JOIN ev2 AS b ON a.k = b.k AND a.cat = b.cat",
        "SELECT a.id, b.id, a.cat FROM ev AS a FULL OUTER JOIN ev2 AS b ON a.k = b.k AND a.cat = b.cat",
        "full")
    # as for LEFT, retractions depend on the arrival order; the final state is what counts
    assert kinds["+I"] > kinds["-D"], kinds


def test_join_over_a_changelog_matches_sqlite(data):
    """The left side is a GROUP BY: its -U/+U retract and re-join rows of the join."""
    cols = [("k", "INT"), ("n", "BIGINT"), ("bid", "BIGINT")]
    kinds = run_case(
        data, cols,
        "SELECT c.k, c.n, b.id AS bid FROM (SELECT k, COUNT(*) AS n FROM ev GROUP BY k) AS c "
        "LEFT JOIN ev2 AS b ON c.k = b.k AND b.id < 40",
        "SELECT c.k, c.n, b.id FROM (SELECT k, COUNT(*) AS n FROM ev GROUP BY k) AS c "
        "LEFT JOIN ev2 AS b ON c.k = b.k AND b.id < 40",
        "changelog")
    assert kinds["-D"] > 0 or kinds["-U"] > 0, kinds


def interval_sqlite(kind):
    ta = "(a.id + %s)" % (SQLITE_JITTER % "a")
    tb = "(b.id + %s)" % (SQLITE_JITTER % "b")
    return ("SELECT a.id, b.id, a.k FROM ev AS a %s JOIN ev2 AS b ON a.k = b.k AND %s BETWEEN %s - 60 AND %s + 120"
            % (kind, tb, ta, ta))


def run_interval_case(data, kind, join):
    """The interval join of ev and ev2 (join: "JOIN" or "LEFT JOIN") on k, right rows within
    [-60 s, +120 s] of a left row's event time, against SQLite's kind JOIN; its row kinds."""
    return run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, a.k FROM ev AS a %s ev2 AS b ON a.k = b.k "
        "AND b.ets BETWEEN a.ets - INTERVAL '60' SECOND AND a.ets + INTERVAL '120' SECOND" % join,
        interval_sqlite(kind), "interval " + kind.lower(), event_time=True)


def test_interval_join_matches_sqlite(data):
    """Right rows within [-60 s, +120 s] of a left row's event time; insert-only output."""
    kinds = run_interval_case(data, "INNER", "JOIN")
    assert set(kinds) == {"+I"}, kinds


def test_left_interval_join_matches_sqlite(data):
    """Left rows that never matched come out padded once the watermark passes their window:
    still insert-only."""
    kinds = run_interval_case(data, "LEFT", "LEFT JOIN")
    assert set(kinds) == {"+I"}, kinds


def test_join_without_equality_is_refused(data):
    script = source_ddl(data) + "SELECT a.id FROM ev AS a JOIN ev2 AS b ON a.k > b.k;\n"
    p = sqltest.run_sql(data["weir"], ["-e", script, "--bootstrap-servers", data["bootstrap"]])
    assert p.returncode == 2, "exit %s\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    assert "no equality between its two sides" in p.stderr + p.stdout, p.stderr


# ------------------------------------------------------------------ savepoints

def _produce_json(bootstrap, topic, records, partitions):
    sqltest.produce_values(producer(bootstrap, linger_ms=5), topic,
                           [(i % partitions, json.dumps(r)) for i, r in enumerate(records)])


def orders_join_sql(bs, orders, customers, out, settings):
    """The job of the savepoint and TTL tests: settings, then orders joined with customers on
    the customer id into out (Kafka topics, JSON)."""
    return settings + """CREATE TABLE orders (id BIGINT, cid BIGINT) WITH ('connector' = 'kafka', 'topic' = '%(orders)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE customers (id BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(customers)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE out (oid BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(out)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json');
INSERT INTO out SELECT o.id, c.name FROM orders AS o JOIN customers AS c ON o.cid = c.id;
""" % {"orders": orders, "customers": customers, "out": out, "bs": bs}


def test_join_state_survives_a_savepoint(broker, tmp_path):
    """Customers are read, then the job stops with SIGTERM (a savepoint); orders produced
    afterwards join them only if the resumed job restored the join's state, because it
    resumes the customers' topic from the savepoint's positions (past every customer)."""
    weir = require_bin()
    tag = "%08x" % random.getrandbits(32)
    orders, customers, out = "js-orders-" + tag, "js-cust-" + tag, "js-out-" + tag
    for t in (orders, customers):
        create_topic(broker.bootstrap, t, partitions=2)
    create_topic(broker.bootstrap, out, partitions=1)
    _produce_json(broker.bootstrap, customers, [{"id": i, "name": "c%d" % i} for i in range(10)], 2)
    chk = tmp_path / "chk"
    job = tmp_path / "job.sql"
    job.write_text(orders_join_sql(broker.bootstrap, orders, customers, out, """
SET 'state.checkpoints.dir' = '%s';
SET 'execution.checkpointing.interval' = '200 ms';
SET 'parallelism.default' = '2';
""" % chk))
    run = sqltest.Running(weir, ["-f", str(job)])

    def customers_read():
        done = sqltest.complete_checkpoints(str(chk))
        return done and sum(v for (t, _p), v in sqltest.checkpoint_positions(done[-1][1]).items() if t == customers) == 10

    wait_until(lambda: customers_read() or not run.alive(), timeout=60, what="a checkpoint past the customers")
    assert run.alive(), run.stderr()[-3000:]
    assert sqltest.stop(run) == 0, run.stderr()[-3000:]
    m = re.search(r"^savepoint written to (\S+)$", run.stderr(), re.M)
    assert m, run.stderr()[-3000:]

    _produce_json(broker.bootstrap, orders, [{"id": 100 + i, "cid": i % 12} for i in range(24)], 2)
    run = sqltest.Running(weir, ["-f", str(job), "--from-savepoint", m.group(1)])
    try:
        want = collections.Counter((100 + i, "c%d" % (i % 12)) for i in range(24) if i % 12 < 10)

        def joined():
            return [(json.loads(r.value())["oid"], json.loads(r.value())["name"])
                    for r in sqltest.read_topic(broker.bootstrap, out, timeout=30)]

        wait_until(lambda: len(joined()) >= len(want) or not run.alive(), timeout=60, what="the joined orders")
        assert run.alive(), run.stderr()[-3000:]
        assert "restored from checkpoint" in run.stderr(), run.stderr()[-3000:]
        assert collections.Counter(joined()) == want
    finally:
        run.interrupt()


def test_state_ttl_expires_idle_keys(broker, tmp_path):
    """'table.exec.state.ttl' = '4 s': a customer nobody touched for longer than that is
    dropped from the join's state, so an order for it joins nothing; a customer and an order
    that come together afterwards still join. The TTL is long enough that a loaded machine
    (the ASan build, other tests) reads the pair within it, in either order."""
    weir = require_bin()
    tag = "%08x" % random.getrandbits(32)
    orders, customers, out = "ttl-orders-" + tag, "ttl-cust-" + tag, "ttl-out-" + tag
    for t in (orders, customers, out):
        create_topic(broker.bootstrap, t, partitions=1)
    job = tmp_path / "job.sql"
    job.write_text(orders_join_sql(broker.bootstrap, orders, customers, out, """
SET 'parallelism.default' = '1';
SET 'table.exec.state.ttl' = '4 s';
"""))

    def joined():
        return sorted((json.loads(r.value())["oid"], json.loads(r.value())["name"])
                      for r in sqltest.read_topic(broker.bootstrap, out, timeout=30))

    _produce_json(broker.bootstrap, customers, [{"id": i, "name": "c%d" % i} for i in range(3)], 1)
    _produce_json(broker.bootstrap, orders, [{"id": 1, "cid": 0}], 1)
    run = sqltest.Running(weir, ["-f", str(job)])
    try:
        wait_until(lambda: joined() == [(1, "c0")] or not run.alive(), timeout=60, what="the first join")
        assert run.alive(), run.stderr()[-3000:]
        # the TTL itself is what is tested: customer 2 has to stay untouched for longer than it
        time.sleep(6)
        _produce_json(broker.bootstrap, orders, [{"id": 2, "cid": 2}], 1)
        _produce_json(broker.bootstrap, customers, [{"id": 9, "name": "c9"}], 1)
        _produce_json(broker.bootstrap, orders, [{"id": 3, "cid": 9}], 1)
        wait_until(lambda: (3, "c9") in joined() or not run.alive(), timeout=60, what="the join after the TTL")
        assert run.alive(), run.stderr()[-3000:]
        assert joined() == [(1, "c0"), (3, "c9")], "customer 2 should have expired: %s" % joined()
    finally:
        run.interrupt()
