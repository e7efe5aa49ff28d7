"""Apache Flink's documented Kafka SQL example runs on Weir unmodified (issue 4 item 9).

tests/it/sql/flink_kafka_example.sql holds the statements copied from Flink's Kafka SQL
connector page (where each comes from, and the one place the page elides options, is said
in the file): a CSV source table `KafkaTable` with a 'timestamp' METADATA column, a JSON
sink table, and an INSERT INTO ... SELECT between them that writes each record's
timestamp plus one second. The job is unbounded, as in Flink: the test points it at its
own broker only through `weir sql --bootstrap-servers`, produces CSV records (with Kafka
timestamps) before and while it runs, polls the sink topic with a deadline, then sends
SIGINT and expects exit status 0. tests/it/sql/flink_kafka_metadata.sql (the page's
"Available Metadata" example) is read back through the terminal tableau the same way.
"""

import csv
import io
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import sqltest  # noqa: E402
from conftest import create_topic, require_bin, wait_until  # noqa: E402
from clients import producer, produce_all, assert_delivered  # noqa: E402

SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")
EXAMPLE = os.path.join(SQL_DIR, "flink_kafka_example.sql")
METADATA_EXAMPLE = os.path.join(SQL_DIR, "flink_kafka_metadata.sql")
BASE_TS = 1717200000000  # 2024-06-01 00:00:00 UTC, in ms


def behaviour_rows(start, n):
    """(user_id, item_id, behavior, timestamp ms): behaviours include a comma (quoted in
    CSV), a double quote and non-ASCII text."""
    kinds = ["pv", "buy", "cart", "fav", "buy,now", 'say "hi"', "zoë", "购买"]
    return [(1000 + i, 50000 + (i * 7919) % 1000, kinds[i % len(kinds)], BASE_TS + i * 1500)
            for i in range(start, start + n)]


def csv_line(row):
    f = io.StringIO()
    csv.writer(f, lineterminator="").writerow(row[:3])
    return f.getvalue().encode("utf-8")


def produce_rows(bootstrap, rows, partitions):
    p = producer(bootstrap)
    for part in range(partitions):
        mine = [r for i, r in enumerate(rows) if i % partitions == part]
        reports = produce_all(p, "user_behavior",
                              [{"value": csv_line(r), "timestamp": r[3]} for r in mine], partition=part)
        assert_delivered(reports)


def test_flink_kafka_to_kafka_example_runs_unmodified(fresh_broker):
    weir = require_bin()
    bs = fresh_broker.bootstrap
    create_topic(bs, "user_behavior", partitions=2)
    create_topic(bs, "user_behavior_json", partitions=1)
    first = behaviour_rows(0, 40)
    produce_rows(bs, first, 2)

    job = sqltest.Running(weir, ["-f", EXAMPLE, "--bootstrap-servers", bs])
    try:
        def output_has(n):
            if not job.alive():
                pytest.fail("weir sql exited early with %s\nstderr:\n%s" % (
                    job.proc.poll(), job.stderr()[-4000:]), pytrace=False)
            msgs = sqltest.read_topic(bs, "user_behavior_json", timeout=10)
            return msgs if len(msgs) >= n else None

        wait_until(lambda: output_has(len(first)), timeout=60, interval=0.5,
                   what="the job's first %d rows in user_behavior_json" % len(first))
        # the job is unbounded: records produced while it runs come through too
        second = behaviour_rows(40, 25)
        produce_rows(bs, second, 2)
        msgs = wait_until(lambda: output_has(len(first) + len(second)), timeout=60, interval=0.5,
                          what="the job's rows for records produced while it runs")
    finally:
        rc, out, err = job.interrupt()
    assert rc == 0, "weir sql exited %s after SIGINT\nstdout:\n%s\nstderr:\n%s" % (rc, out[-2000:], err[-4000:])

    want = {(u, i, b): ts + 1000 for u, i, b, ts in first + second}
    assert len(msgs) == len(want), "%d output records for %d input records" % (len(msgs), len(want))
    got = {}
    for m in msgs:
        v = json.loads(m.value().decode("utf-8"))
        assert set(v) == {"user_id", "item_id", "behavior"}, "fields %s: ts is a metadata column, " \
            "written as the record's timestamp, not into the JSON value" % sorted(v)
        ts_type, ts = m.timestamp()
        assert ts_type != 0, "record without a timestamp"
        got[(v["user_id"], v["item_id"], v["behavior"])] = ts
    assert got == want


def test_flink_metadata_example_in_tableau(fresh_broker):
    """The page's "Available Metadata" table read with a streaming SELECT: partition,
    offset and the record timestamp come through as BIGINT/TIMESTAMP_LTZ(3) columns."""
    weir = require_bin()
    bs = fresh_broker.bootstrap
    create_topic(bs, "user_behavior", partitions=2)
    rows = behaviour_rows(0, 12)
    rows = [r for r in rows if "," not in r[2] and '"' not in r[2]]  # tableau cells are not quoted
    produce_rows(bs, rows, 2)
    job = sqltest.Running(weir, ["-f", METADATA_EXAMPLE, "--bootstrap-servers", bs])
    try:
        def data_rows():
            if not job.alive():
                pytest.fail("weir sql exited early with %s\nstderr:\n%s" % (
                    job.proc.poll(), job.stderr()[-4000:]), pytrace=False)
            table = sqltest.parse_tableau(job.stdout())
            body = [r for r in table[1:] if r and r[0] in ("+I", "-U", "+U", "-D")]
            return body if len(body) >= len(rows) else None

        body = wait_until(data_rows, timeout=60, interval=0.3, what="%d rows in the tableau" % len(rows))
        header = sqltest.parse_tableau(job.stdout())[0]
    finally:
        rc, out, err = job.interrupt()
    assert rc == 0, "weir sql exited %s after SIGINT\nstderr:\n%s" % (rc, err[-4000:])
    assert header == ["op", "partition", "offset", "user_id", "item_id", "behavior", "event_time"]
    want = set()
    for part in range(2):
        mine = [r for i, r in enumerate(rows) if i % 2 == part]
        for off, (u, i, b, ts) in enumerate(mine):
            want.add((part, off, u, i, b, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts / 1000))
                      + ".%03d" % (ts % 1000)))
    got = {(int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5], r[6]) for r in body}
    assert all(r[0] == "+I" for r in body)
    assert got == want
