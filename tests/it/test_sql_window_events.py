"""Window operator events end to end with a real broker (issue 5 item 3): `weir sql -f`
(WEIR_BIN) runs an unbounded TUMBLE job over a kafka source whose table names an
'errors.dead-letter-topic'; rows that arrive behind the window operator's watermark are
left out of the windows, counted, and written to the dead-letter topic as JSON (the
window's input columns) with __weir.errors.* headers saying why, the record timestamp
being the row's event time. Input is produced in two steps (the second after the first
windows fired), so the late rows are late whatever batches the source reads.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import sqltest  # noqa: E402
from conftest import create_topic, require_bin, wait_until  # noqa: E402
from clients import assert_delivered, producer, produce_all  # noqa: E402

JOB = """
CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH (
  'connector' = 'kafka', 'topic' = 'we_late_src', 'format' = 'json',
  'errors.dead-letter-topic' = 'we_late_dead', 'scan.startup.mode' = 'earliest-offset'
);
CREATE TABLE totals (k STRING, ws TIMESTAMP(3), n BIGINT, s BIGINT)
  WITH ('connector' = 'kafka', 'topic' = 'we_late_out', 'format' = 'json');
INSERT INTO totals SELECT k, window_start, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY k, window_start, window_end;
"""

BASE_MS = 1717200000000  # 2024-06-01 00:00:00 UTC


def produce(bs, rows):
    recs = [{"value": json.dumps({"k": k, "v": v, "ts": "2024-06-01 00:00:%02d" % sec}).encode()}
            for k, v, sec in rows]
    assert_delivered(produce_all(producer(bs), "we_late_src", recs, partition=0))


def count(bs, topic):
    return len(sqltest.read_topic(bs, topic))


def test_late_rows_go_to_the_dead_letter_topic(broker, tmp_path):
    bs = broker.bootstrap
    for t in ("we_late_src", "we_late_out", "we_late_dead"):
        create_topic(bs, t, partitions=1)
    path = tmp_path / "job.sql"
    path.write_text(JOB)
    job = sqltest.Running(require_bin(), ["-f", str(path), "--bootstrap-servers", bs, "--parallelism", "2"])
    try:
        # the 12 s row moves the watermark past the first windows' end: they fire
        produce(bs, [("a", 1, 1), ("b", 2, 2), ("a", 3, 12), ("b", 4, 13)])
        wait_until(lambda: count(bs, "we_late_out") >= 2 or not job.alive(), timeout=30, what="the first windows")
        # behind the watermark (13 s): late, one of each key (so both workers may see one)
        produce(bs, [("a", 5, 3), ("b", 6, 4), ("b", 7, 15)])
        wait_until(lambda: count(bs, "we_late_dead") >= 2 or not job.alive(), timeout=30,
                   what="two records in the dead-letter topic")
        rc, _, err = job.interrupt()
    finally:
        job.kill()
    assert rc == 0, err
    assert "weir sql: 0 bad records skipped, 2 written to the dead-letter topic" in err, err
    out = [json.loads(m.value()) for m in sqltest.read_topic(bs, "we_late_out")]
    # the first windows only (the source did not end: the 10 s windows are still open)
    assert sorted((r["k"], r["ws"], r["n"], r["s"]) for r in out) == [
        ("a", "2024-06-01 00:00:00", 1, 1), ("b", "2024-06-01 00:00:00", 1, 2)]
    dead = sqltest.read_topic(bs, "we_late_dead", expect=2)
    got = sorted((json.loads(m.value())["v"], json.loads(m.value()), dict(m.headers()), m.timestamp()[1])
                 for m in dead)
    assert [g[1] for g in got] == [{"ts": "2024-06-01 00:00:03", "k": "a", "v": 5},
                                   {"ts": "2024-06-01 00:00:04", "k": "b", "v": 6}]
    for (_, value, h, ts), sec in zip(got, (3, 4)):
        assert ts == BASE_MS + sec * 1000  # the record's timestamp is its event time
        assert h["__weir.errors.topic"] == b"we_late_src"
        assert h["__weir.errors.stage"] == b"window"
        assert h["__weir.errors.table"] == b"events"
        assert h["__weir.errors.exception.message"] == (
            "late row: event time 2024-06-01 00:00:0%d.000 is behind the window operator's watermark "
            "2024-06-01 00:00:13.000 (the window it belongs to has fired)" % sec).encode()
