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
import signal
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
        p = producer(broker.bootstrap, linger_ms=20)
        failed = []
        for i, r in enumerate(rows):
            value = rowgen.encode_json(rnd, r)
            while True:
                try:
                    p.produce(topic, value=value, partition=i % parts,
                              on_delivery=lambda err, msg: failed.append(err) if err else None)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        assert p.flush(60) == 0 and not failed, "delivery to %s failed: %s" % (topic, failed[:3])
        db.execute("CREATE TABLE %s (%s)" % (table, rowgen.SQLITE_DDL))
        db.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * 13)),
                       [rowgen.sqlite_values(r, i % parts, i // parts) for i, r in enumerate(rows)])
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


def final_state(columns, table, what):
    """The multiset left after applying the tableau's changelog, and the count of each kind.
    A retraction of a row that is not there fails: Flink's changelog never does that."""
    assert table, "%s: no tableau printed" % what
    assert table[0] == ["op"] + [c for c, _ in columns], "%s: header %r" % (what, table[0])
    state, kinds = collections.Counter(), collections.Counter()
    for r in table[1:]:
        kinds[r[0]] += 1
        row = tuple(sqltest.norm(t, cell(t, v), "sqlite") for (_c, t), v in zip(columns, r[1:]))
        if r[0] in ("+I", "+U"):
            state[row] += 1
        else:
            assert r[0] in ("-U", "-D"), "%s: row kind %r" % (what, r[0])
            assert state[row] > 0, "%s: %s retracts a row that is not there: %r" % (what, r[0], row)
            state[row] -= 1
    return +state, kinds


def run_case(data, columns, flink, sqlite, what, event_time=False):
    script = source_ddl(data, event_time) + flink + ";\n"
    p = sqltest.run_sql(data["weir"], ["-e", script, "--bootstrap-servers", data["bootstrap"]])
    assert p.returncode == 0, "%s: weir sql -e exited %s\nstdout:\n%s\nstderr:\n%s" % (
        what, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    got, kinds = final_state(columns, sqltest.parse_tableau(p.stdout), what)
    want = collections.Counter(tuple(sqltest.norm(t, v, "sqlite") for (_c, t), v in zip(columns, row))
                               for row in data["db"].execute(sqlite).fetchall())
    if got != want:
        pytest.fail("%s: final state differs from SQLite (weir %d rows, SQLite %d)\nonly in SQLite: %s\n"
                    "only in weir: %s" % (what, sum(got.values()), sum(want.values()),
                                          list((want - got).elements())[:8], list((got - want).elements())[:8]),
                    pytrace=False)
    assert sum(want.values()) > 0, "%s: the oracle's result is empty; the case tests nothing" % what
    return kinds


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
    """Left rows without a (flagged) match come out padded, and are retracted when one arrives."""
    kinds = run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, b.k FROM ev AS a LEFT JOIN ev2 AS b ON a.k = b.k AND b.flag",
        "SELECT a.id, b.id, b.k FROM ev AS a LEFT JOIN ev2 AS b ON a.k = b.k AND b.flag",
        "left")
    assert kinds["-D"] > 0, kinds


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
    assert kinds["-D"] > 0 and kinds["+I"] > kinds["-D"], kinds


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


def test_interval_join_matches_sqlite(data):
    """Right rows within [-60 s, +120 s] of a left row's event time; insert-only output."""
    kinds = run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, a.k FROM ev AS a JOIN ev2 AS b ON a.k = b.k "
        "AND b.ets BETWEEN a.ets - INTERVAL '60' SECOND AND a.ets + INTERVAL '120' SECOND",
        interval_sqlite("INNER"), "interval inner", event_time=True)
    assert set(kinds) == {"+I"}, kinds


def test_left_interval_join_matches_sqlite(data):
    """Left rows that never matched come out padded once the watermark passes their window:
    still insert-only."""
    kinds = run_case(
        data, PAIR,
        "SELECT a.id AS aid, b.id AS bid, a.k FROM ev AS a LEFT JOIN ev2 AS b ON a.k = b.k "
        "AND b.ets BETWEEN a.ets - INTERVAL '60' SECOND AND a.ets + INTERVAL '120' SECOND",
        interval_sqlite("LEFT"), "interval left", event_time=True)
    assert set(kinds) == {"+I"}, kinds


def test_join_without_equality_is_refused(data):
    script = source_ddl(data) + "SELECT a.id FROM ev AS a JOIN ev2 AS b ON a.k > b.k;\n"
    p = sqltest.run_sql(data["weir"], ["-e", script, "--bootstrap-servers", data["bootstrap"]])
    assert p.returncode == 2, "exit %s\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    assert "no equality between its two sides" in p.stderr + p.stdout, p.stderr


# ------------------------------------------------------------------ savepoints

def _positions(meta_path):
    """{(topic, partition): next offset} of a checkpoint's _metadata (the Kafka position
    bytes: version, u16 topic length, topic, i32 partition, i64 offset, big-endian)."""
    with open(meta_path) as f:
        meta = json.load(f)
    out = {}
    for src in meta["sources"]:
        for sp in src["splits"]:
            b = bytes.fromhex(sp["position"])
            tl = int.from_bytes(b[1:3], "big")
            topic = b[3:3 + tl].decode()
            out[(topic, int.from_bytes(b[3 + tl:7 + tl], "big"))] = int.from_bytes(b[7 + tl:15 + tl], "big")
    return out


def _latest_checkpoint(chk):
    if not os.path.isdir(chk):
        return None
    best = None
    for job in os.listdir(chk):
        d = os.path.join(chk, job)
        if job == "savepoints" or not os.path.isdir(d):
            continue
        for c in os.listdir(d):
            meta = os.path.join(d, c, "_metadata")
            if c.startswith("chk-") and os.path.exists(meta) and (best is None or int(c[4:]) > best[0]):
                best = (int(c[4:]), meta)
    return best and best[1]


def _produce_json(bootstrap, topic, records, partitions):
    p = producer(bootstrap, linger_ms=5)
    for i, r in enumerate(records):
        p.produce(topic, value=json.dumps(r), partition=i % partitions)
        p.poll(0)
    assert p.flush(60) == 0, "records of %s still undelivered" % topic


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
    job.write_text("""
SET 'state.checkpoints.dir' = '%(chk)s';
SET 'execution.checkpointing.interval' = '200 ms';
SET 'parallelism.default' = '2';
CREATE TABLE orders (id BIGINT, cid BIGINT) WITH ('connector' = 'kafka', 'topic' = '%(orders)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE customers (id BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(customers)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE out (oid BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(out)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json');
INSERT INTO out SELECT o.id, c.name FROM orders AS o JOIN customers AS c ON o.cid = c.id;
""" % {"chk": chk, "orders": orders, "customers": customers, "out": out, "bs": broker.bootstrap})
    run = sqltest.Running(weir, ["-f", str(job)])

    def customers_read():
        meta = _latest_checkpoint(str(chk))
        return meta and sum(v for (t, _p), v in _positions(meta).items() if t == customers) == 10

    wait_until(lambda: customers_read() or not run.alive(), timeout=60, what="a checkpoint past the customers")
    assert run.alive(), run.stderr()[-3000:]
    run.proc.send_signal(signal.SIGTERM)
    run.proc.wait(timeout=60)
    for t in run._threads:
        t.join(10)
    sqltest.check_sanitizers("weir sql", run.stderr())
    assert run.proc.returncode == 0, run.stderr()[-3000:]
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
    job.write_text("""
SET 'parallelism.default' = '1';
SET 'table.exec.state.ttl' = '4 s';
CREATE TABLE orders (id BIGINT, cid BIGINT) WITH ('connector' = 'kafka', 'topic' = '%(orders)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE customers (id BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(customers)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE out (oid BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = '%(out)s',
  'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json');
INSERT INTO out SELECT o.id, c.name FROM orders AS o JOIN customers AS c ON o.cid = c.id;
""" % {"orders": orders, "customers": customers, "out": out, "bs": broker.bootstrap})

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
