"""Group aggregation end to end (issue 5 item 4): GROUP BY without windows, global
aggregates, HAVING, SELECT DISTINCT, UNION and an aggregation over an aggregation, checked
against SQLite as the oracle.

Seeded rows (tests/it/sql/oracle/rows.py) go as JSON records into a 3-partition Weir topic
(round-robin, so each partition's rows are out of order with the others') and into an
in-memory SQLite table. Each query runs as a bounded `weir sql -e` at parallelism 2 and
prints Flink's tableau with its op column; the changelog (+I, -U, +U, -D) is applied to a
multiset of rows (+I/+U add the row, -U/-D take one identical row away: they carry the old
row, as in Flink) and the final state is compared with SQLite's result of the same query.
Also: an updating query INSERTed INTO a plain 'kafka' JSON table is refused at planning
(exit status 2) with a message naming the GROUP BY and what to use instead.
"""

import os
import random
import sqlite3
import sys
from decimal import Decimal

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import rows as rowgen  # noqa: E402
import sqltest  # noqa: E402
from conftest import create_topic, require_bin  # noqa: E402
from clients import producer  # noqa: E402

N_ROWS = int(os.environ.get("WEIR_IT_SQL_GROUP_ROWS", "4000"))
PARTITIONS = 3


@pytest.fixture(scope="module")
def data(broker):
    weir = require_bin()
    topic = "group-ev-%08x" % random.getrandbits(32)
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    rows = rowgen.make_rows(9191, N_ROWS, 1)
    rnd = random.Random(9192)
    positions = sqltest.produce_values(producer(broker.bootstrap, linger_ms=20), topic,
                                       [(i % PARTITIONS, rowgen.encode_json(rnd, r)) for i, r in enumerate(rows)])
    db = sqlite3.connect(":memory:")
    rowgen.load_sqlite(db, "ev", rows, positions)
    return {"weir": weir, "bootstrap": broker.bootstrap, "topic": topic, "db": db}


def source_ddl(topic, bootstrap):
    return """SET 'parallelism.default' = '2';
CREATE TABLE ev (
%s
) WITH (
  'connector' = 'kafka',
  'topic' = '%s',
  'properties.bootstrap.servers' = '%s',
  'properties.group.id' = 'group-it',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json'
);
""" % (rowgen.COLUMNS_DDL, topic, bootstrap)


def cell(typ, text):
    """A tableau cell as the value sqltest.norm takes (SQLite's side: lenient)."""
    if text == "<NULL>":
        return None
    t = typ.upper()
    if t in ("INT", "BIGINT"):
        return int(text)
    if t.startswith("DECIMAL"):
        return Decimal(text)
    if t == "DOUBLE":
        return float(text)
    if t == "BOOLEAN":
        assert text in ("TRUE", "FALSE"), text
        return text == "TRUE"
    return text


def run_case(data, columns, flink, sqlite, what):
    script = source_ddl(data["topic"], data["bootstrap"]) + flink + ";\n"
    return sqltest.run_changelog_case(data["weir"], data["bootstrap"], script, columns, data["db"], sqlite, what, cell)


def test_group_by_matches_sqlite(data):
    """COUNT, COUNT(col), COUNT(DISTINCT), SUM of a DECIMAL, MIN/MAX of a DOUBLE and integer
    AVG per key (NULL keys form one group): updates arrive as -U/+U pairs."""
    cols = [("k", "INT"), ("n", "BIGINT"), ("nc", "BIGINT"), ("dc", "BIGINT"), ("total", "DECIMAL(38, 2)"),
            ("lo", "DOUBLE"), ("hi", "DOUBLE"), ("mean_id", "BIGINT")]
    kinds = run_case(
        data, cols,
        "SELECT k, COUNT(*) AS n, COUNT(cat) AS nc, COUNT(DISTINCT cat) AS dc, SUM(amount) AS total, "
        "MIN(price) AS lo, MAX(price) AS hi, AVG(id) AS mean_id FROM ev GROUP BY k",
        "SELECT k, COUNT(*), COUNT(cat), COUNT(DISTINCT cat), SUM(amount), MIN(price), MAX(price), "
        "CAST(AVG(id) AS INTEGER) FROM ev GROUP BY k",
        "group_by")
    assert kinds["-U"] > 0 and kinds["-U"] == kinds["+U"], kinds


def test_having_matches_sqlite(data):
    """HAVING filters the aggregation's changelog row by row."""
    cols = [("cat", "STRING"), ("n", "BIGINT"), ("top", "INT"), ("names", "BIGINT")]
    run_case(
        data, cols,
        "SELECT cat, COUNT(*) AS n, MAX(k) AS top, COUNT(DISTINCT name) AS names FROM ev WHERE k > 10 "
        "GROUP BY cat HAVING COUNT(*) > 300",
        "SELECT cat, COUNT(*), MAX(k), COUNT(DISTINCT name) FROM ev WHERE k > 10 GROUP BY cat HAVING COUNT(*) > 300",
        "having")


def test_global_aggregate_matches_sqlite(data):
    """No GROUP BY: one group on one worker, updated as rows come."""
    cols = [("n", "BIGINT"), ("total", "DECIMAL(38, 2)"), ("first_name", "STRING"), ("top", "INT"),
            ("dk", "BIGINT")]
    run_case(
        data, cols,
        "SELECT COUNT(*) AS n, SUM(amount) AS total, MIN(name) AS first_name, MAX(k) AS top, "
        "COUNT(DISTINCT k) AS dk FROM ev",
        "SELECT COUNT(*), SUM(amount), MIN(name), MAX(k), COUNT(DISTINCT k) FROM ev",
        "global")


def test_select_distinct_matches_sqlite(data):
    cols = [("cat", "STRING"), ("flag", "BOOLEAN")]
    kinds = run_case(data, cols, "SELECT DISTINCT cat, flag FROM ev", "SELECT DISTINCT cat, flag FROM ev", "distinct")
    assert set(kinds) == {"+I"}, kinds  # a distinct row never changes


def test_union_matches_sqlite(data):
    cols = [("k", "INT"), ("cat", "STRING")]
    run_case(data, cols,
             "SELECT k, cat FROM ev WHERE k < 0 UNION SELECT k, cat FROM ev WHERE k > 115 OR cat = 'tools'",
             "SELECT k, cat FROM ev WHERE k < 0 UNION SELECT k, cat FROM ev WHERE k > 115 OR cat = 'tools'",
             "union")


def test_aggregate_of_aggregate_retracts(data):
    """The outer aggregation consumes the inner one's changelog: a count bucket a category
    leaves loses it again (-U/-D), and MIN/MAX over retracted values stay exact."""
    cols = [("n", "BIGINT"), ("cats", "BIGINT"), ("lo", "BIGINT"), ("hi", "BIGINT")]
    kinds = run_case(
        data, cols,
        "SELECT n, COUNT(*) AS cats, MIN(s) AS lo, MAX(s) AS hi "
        "FROM (SELECT cat, COUNT(*) AS n, SUM(id) AS s FROM ev GROUP BY cat) GROUP BY n",
        "SELECT n, COUNT(*), MIN(s), MAX(s) FROM (SELECT cat, COUNT(*) AS n, SUM(id) AS s FROM ev GROUP BY cat) "
        "GROUP BY n",
        "nested")
    assert kinds["-D"] > 0, kinds


def test_updating_insert_into_append_only_kafka_is_refused(data):
    """INSERT of a GROUP BY into a 'kafka' JSON table: refused before anything runs."""
    script = source_ddl(data["topic"], data["bootstrap"]) + """CREATE TABLE totals (cat STRING, n BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'group-totals', 'properties.bootstrap.servers' = '%s', 'format' = 'json'
);
INSERT INTO totals SELECT cat, COUNT(*) FROM ev GROUP BY cat;
""" % data["bootstrap"]
    p = sqltest.run_sql(data["weir"], ["-e", script, "--bootstrap-servers", data["bootstrap"]])
    assert p.returncode == 2, "exit %s\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    err = p.stderr
    assert "INSERT INTO totals" in err and "produces updates" in err, err
    assert "GROUP BY at line" in err and "append-only" in err, err
    assert "upsert-kafka" in err and "debezium-json" in err, err
