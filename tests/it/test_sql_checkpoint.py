"""Checkpoints, restarts and savepoints of stateful SQL jobs (issue 5 items 7 and 9), with
`weir sql` against a real broker.

- kill -9: a bounded TUMBLE count per key over out-of-order seeded rows of a 3-partition
  topic (Kafka JSON sink, 'state.checkpoints.dir', a 200 ms checkpoint interval). The rows
  are fed while the job runs; the job is killed with SIGKILL several times (each time after
  a new checkpoint completed, at a different delay) and started again with the same file,
  until it ends by itself. The sink topic, deduplicated by (key, window), must equal SQLite's
  counts with no window missing, and every duplicate must carry the same count (the state
  was restored exactly, only output after the checkpoint is repeated).
- savepoint: an unbounded job is stopped with SIGTERM (the savepoint's path on stderr), the
  job is edited (a projected column added, a filter changed) and resumed with
  --from-savepoint: the open window's count continues from the savepoint's state.
- an edit of the aggregation's keys is refused (exit 2, the message names the operator),
  and accepted with --allow-state-reset; --from-savepoint of a directory without
  _metadata exits 2.
"""

import datetime
import json
import os
import random
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import sqltest  # noqa: E402
from clients import producer  # noqa: E402
from conftest import create_topic, require_bin, wait_until  # noqa: E402

PARTITIONS = 3
BASE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
TS_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?$")


def ts_text(ms):
    t = BASE + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (ms % 1000)


def ts_ms(text):
    m = TS_RE.match(text)
    assert m, "not a timestamp: %r" % (text,)
    t = datetime.datetime(*[int(x) for x in m.groups()[:6]], tzinfo=datetime.timezone.utc)
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return int((t - BASE).total_seconds() * 1000) + int(frac)


def produce(bootstrap, topic, rows):
    """rows: (partition, key, group, ts_ms); produced in order, each to its partition."""
    sqltest.produce_values(producer(bootstrap, linger_ms=5), topic,
                           [(part, json.dumps({"k": k, "g": g, "ts": ts_text(ms)})) for part, k, g, ms in rows])


def sink_rows(bootstrap, topic):
    """The sink's records as (k, window start ms, count) tuples, in topic order."""
    out = []
    for m in sqltest.read_topic(bootstrap, topic, timeout=30):
        v = json.loads(m.value())
        out.append((v["k"], ts_ms(v["ws"]), v["c"]))
    return out


def checkpoints(chk_dir):
    """Numbers of the complete checkpoints under chk_dir/<job id>/."""
    return [n for n, _meta in sqltest.complete_checkpoints(chk_dir)]


def job_sql(chk, src, out, bootstrap, bounded=None, extra="", select="k", where="", startup="earliest-offset",
            group="k", sink_cols="k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT", tail=""):
    bound = ""
    if bounded:
        bound = (",\n  'scan.bounded.mode' = 'specific-offsets', 'scan.bounded.specific-offsets' = '%s'" %
                 ";".join("partition:%d,offset:%d" % (p, n) for p, n in sorted(bounded.items())))
    return """
SET 'state.checkpoints.dir' = '%(chk)s';
SET 'execution.checkpointing.interval' = '200 ms';
SET 'parallelism.default' = '2';
%(extra)s
CREATE TABLE src (k STRING, g STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (
  'connector' = 'kafka', 'topic' = '%(src)s', 'properties.bootstrap.servers' = '%(bs)s',
  'properties.group.id' = 'ckpt-%(src)s', 'format' = 'json', 'scan.startup.mode' = '%(startup)s'%(bound)s);
CREATE TABLE out (%(sink_cols)s) WITH (
  'connector' = 'kafka', 'topic' = '%(out)s', 'properties.bootstrap.servers' = '%(bs)s', 'format' = 'json');
INSERT INTO out SELECT %(select)s, window_start, window_end, COUNT(*)%(tail)s
  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) %(where)s
  GROUP BY %(group)s, window_start, window_end;
""" % {"chk": chk, "src": src, "out": out, "bs": bootstrap, "bound": bound, "extra": extra, "select": select,
       "where": where, "startup": startup, "group": group, "sink_cols": sink_cols, "tail": tail}


def start(weir, path, *args):
    return sqltest.Running(weir, ["-f", str(path)] + list(args))


stop = sqltest.stop


def new_topics(bootstrap, prefix):
    """Fresh topics <prefix>-src-<tag> (PARTITIONS partitions) and <prefix>-out-<tag> (one)."""
    tag = "%08x" % random.getrandbits(32)
    src, out = prefix + "-src-" + tag, prefix + "-out-" + tag
    create_topic(bootstrap, src, partitions=PARTITIONS)
    create_topic(bootstrap, out, partitions=1)
    return src, out


def test_kill_9_restarts_lose_no_window(broker, tmp_path):
    weir = require_bin()
    src, out = new_topics(broker.bootstrap, "ckpt")
    rnd = random.Random(5150)
    n = 4000
    rows = []
    for i in range(n):
        ms = i * 15 - rnd.randrange(0, 3000)  # out of order by up to 3 s, watermark delay 5 s
        rows.append((rnd.randrange(PARTITIONS), "k%d" % rnd.randrange(8), "g", ms))
    counts = {p: sum(1 for r in rows if r[0] == p) for p in range(PARTITIONS)}
    chk = tmp_path / "chk"
    job = tmp_path / "job.sql"
    job.write_text(job_sql(chk, src, out, broker.bootstrap, bounded=counts))

    # the rows arrive while the job runs: a first quarter, then the rest in slices, one
    # slice after each kill, so the job is killed with rows in flight and state open
    slices = [rows[:1000]] + [rows[1000 + k * 750:1000 + (k + 1) * 750] for k in range(4)]
    produce(broker.bootstrap, src, slices[0])
    kills, restored = 0, 0
    for k, delay in enumerate((0.0, 0.05, 0.13, 0.31)):
        before = checkpoints(chk)
        run = start(weir, job)
        # a new checkpoint completes (or, on the last rounds, at least one is there), then
        # the job dies at once or a little later, between barriers
        wait_until(lambda: len(checkpoints(chk)) and checkpoints(chk)[-1] > (before[-1] if before else 0)
                   or not run.alive(), timeout=60, what="a new complete checkpoint")
        assert run.alive(), "the job ended early:\n" + run.stderr()[-3000:]
        time.sleep(delay)  # where between two checkpoints the kill lands (not a synchronisation)
        run.kill()
        kills += 1
        restored += "restored from checkpoint" in run.stderr()
        sqltest.check_sanitizers("weir sql", run.stderr())
        produce(broker.bootstrap, src, slices[k + 1])
    # the last run ends by itself at the bounded offsets
    p = sqltest.run_sql(weir, ["-f", str(job)], timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "restored from checkpoint" in p.stderr
    assert kills == 4 and restored == 3  # every start after the first resumed

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE ev (k TEXT, ts INTEGER)")
    db.executemany("INSERT INTO ev VALUES (?, ?)", [(r[1], r[3]) for r in rows])
    want = {(k, ws): c for k, ws, c in db.execute(
        "SELECT k, (ts - ((ts % 10000) + 10000) % 10000) AS ws, COUNT(*) FROM ev GROUP BY k, ws")}
    got = {}
    for k, ws, c in sink_rows(broker.bootstrap, out):
        assert got.get((k, ws), c) == c, "window %s@%s emitted with counts %s and %s" % (k, ws, got[(k, ws)], c)
        got[(k, ws)] = c
    missing = sorted(set(want) - set(got))
    assert not missing, "windows missing after kill -9 restarts: %s" % missing[:10]
    wrong = sorted((w, got[w], want[w]) for w in want if got[w] != want[w])
    assert not wrong, "windows with wrong counts (window, got, want): %s" % wrong[:10]
    assert set(got) == set(want)


def test_savepoint_keeps_state_across_an_edit(broker, tmp_path):
    weir = require_bin()
    src, out = new_topics(broker.bootstrap, "sp")
    chk = tmp_path / "chk"
    # phase 1: rows of the window [0 s, 10 s) only, so it stays open in the job's state
    phase1 = [(i % PARTITIONS, "k%d" % (i % 4), "g", 1000 + i) for i in range(300)]
    produce(broker.bootstrap, src, phase1)
    job = tmp_path / "job.sql"
    job.write_text(job_sql(chk, src, out, broker.bootstrap))
    run = start(weir, job)

    def all_read():
        done = sqltest.complete_checkpoints(chk)
        return bool(done) and sum(sqltest.checkpoint_positions(done[-1][1]).values()) == len(phase1)

    wait_until(lambda: all_read() or not run.alive(), timeout=60, what="a checkpoint past phase 1")
    assert run.alive(), run.stderr()[-3000:]
    rc = stop(run)
    assert rc == 0, run.stderr()[-3000:]
    m = re.search(r"^savepoint written to (\S+)$", run.stderr(), re.M)
    assert m, run.stderr()[-3000:]
    savepoint = m.group(1)
    assert os.path.exists(os.path.join(savepoint, "_metadata"))
    assert sum(sqltest.checkpoint_positions(os.path.join(savepoint, "_metadata")).values()) == len(phase1)
    assert sink_rows(broker.bootstrap, out) == []  # the window is still open

    # phase 2: more rows of that window, then one far later on every partition (the
    # watermark passes the window's end everywhere)
    phase2 = [(i % PARTITIONS, "k%d" % (i % 4), "g", 5000 + i) for i in range(120)]
    phase2 += [(p, "k9", "g", 60000) for p in range(PARTITIONS)]
    produce(broker.bootstrap, src, phase2)

    # the edit: another projected column, a changed filter; a fresh start would read from
    # the end ('latest-offset') and know nothing of phase 1: only the savepoint's state and
    # positions make the counts right
    edited = tmp_path / "edited.sql"
    edited.write_text(job_sql(chk, src, out, broker.bootstrap, startup="latest-offset", where="WHERE k <> 'none'",
                              sink_cols="k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, tag STRING",
                              tail=", 'v2'"))
    run = start(weir, edited, "--from-savepoint", savepoint)
    want = {("k%d" % j, 0): 75 + 30 for j in range(4)}
    wait_until(lambda: len(sink_rows(broker.bootstrap, out)) >= 4 or not run.alive(), timeout=60,
               what="the window's counts")
    assert run.alive(), run.stderr()[-3000:]
    assert "restored from checkpoint %s" % savepoint in run.stderr()
    got = {(k, ws): c for k, ws, c in sink_rows(broker.bootstrap, out)}
    assert got == want, "counts after resuming from the savepoint: %s" % (got,)
    assert stop(run) == 0


def test_changed_keys_are_refused_unless_reset(broker, tmp_path):
    weir = require_bin()
    src, out = new_topics(broker.bootstrap, "rk")
    produce(broker.bootstrap, src, [(i % PARTITIONS, "k%d" % (i % 4), "g%d" % (i % 2), 1000 + i) for i in range(60)])
    chk = tmp_path / "chk"
    job = tmp_path / "job.sql"
    job.write_text(job_sql(chk, src, out, broker.bootstrap, extra="SET 'pipeline.name' = 'rekey';"))
    run = start(weir, job)
    wait_until(lambda: checkpoints(chk) or not run.alive(), timeout=60, what="a checkpoint")
    assert stop(run) == 0, run.stderr()[-3000:]

    # the same pipeline grouped by another column: its state does not fit
    rekeyed = tmp_path / "rekeyed.sql"
    rekeyed.write_text(job_sql(chk, src, out, broker.bootstrap, extra="SET 'pipeline.name' = 'rekey';",
                               select="g", group="g"))
    p = sqltest.run_sql(weir, ["-f", str(rekeyed)], timeout=60)
    assert p.returncode == 2, p.stderr
    assert "operator WindowAggregate(groupBy=[g]" in p.stderr, p.stderr
    assert "WindowAggregate(groupBy=[k]" in p.stderr and "--allow-state-reset" in p.stderr, p.stderr

    # a savepoint directory that is not one is refused the same way
    p = sqltest.run_sql(weir, ["-f", str(job), "--from-savepoint", str(tmp_path / "nothing")], timeout=60)
    assert p.returncode == 2, p.stderr
    assert "is not a checkpoint or savepoint (no _metadata)" in p.stderr, p.stderr

    run = start(weir, rekeyed, "--allow-state-reset")
    wait_until(lambda: "restored from checkpoint" in run.stderr() or not run.alive(), timeout=60,
               what="the job to start from the checkpoint")
    assert run.alive(), run.stderr()[-3000:]
    assert stop(run) == 0, run.stderr()[-3000:]
