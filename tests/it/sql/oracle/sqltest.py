"""Helpers for the SQL integration tests: run `weir sql` (WEIR_BIN) as a user would (and
stop a background one), produce records and read a topic back whole, read the Kafka
positions of a job's checkpoints, compare rows as multisets with type-aware
normalisation (DECIMAL as Decimal at the column's scale, DOUBLE to 12 significant digits,
BOOLEAN from JSON true/false or SQLite 0/1, DATE and TIMESTAMP parsed), and apply a
tableau's changelog to compare its final state with SQLite's answer."""

import collections
import datetime
import json
import os
import re
import signal
import subprocess
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|"
                          r"runtime error:|SUMMARY: UndefinedBehaviorSanitizer")
JOB_TIMEOUT = float(os.environ.get("WEIR_IT_SQL_TIMEOUT", "120"))


def sql_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=66")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=67")
    env["TZ"] = "UTC"  # TIMESTAMP_LTZ values print in the session's zone: make it fixed
    return env


def check_sanitizers(what, text):
    if SANITIZER_RE.search(text):
        pytest.fail("sanitizer report from %s:\n%s" % (what, text[-8000:]), pytrace=False)


def run_sql(weir, args, timeout=JOB_TIMEOUT, cwd=None):
    """Runs `weir sql ARGS` to its end; returns the CompletedProcess (text output). Fails
    on a timeout (the process is killed) or a sanitizer report."""
    try:
        p = subprocess.run([weir, "sql"] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=sql_env(), cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")[-3000:]
        err = (e.stderr or b"").decode(errors="replace")[-3000:]
        pytest.fail("weir sql %s did not end within %ss\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), timeout, out, err), pytrace=False)
    p.stdout = p.stdout.decode("utf-8", errors="replace")
    p.stderr = p.stderr.decode("utf-8", errors="replace")
    check_sanitizers("weir sql", p.stderr)
    return p


def run_job_file(weir, path, bootstrap=None, expect_rc=0, timeout=JOB_TIMEOUT):
    args = ["-f", path]
    if bootstrap:
        args += ["--bootstrap-servers", bootstrap]
    p = run_sql(weir, args, timeout=timeout)
    if p.returncode != expect_rc:
        with open(path, encoding="utf-8") as f:
            script = f.read()
        pytest.fail("weir sql -f %s exited %s (expected %s)\n--- script ---\n%s\n--- stdout ---\n%s\n"
                    "--- stderr ---\n%s" % (path, p.returncode, expect_rc, script, p.stdout[-4000:],
                                            p.stderr[-4000:]), pytrace=False)
    return p


class Running:
    """A `weir sql` process in the background (an unbounded job or query): its stdout and
    stderr are collected by threads (so a full pipe never blocks it) and can be polled;
    interrupt() sends SIGINT as Ctrl-C would."""

    def __init__(self, weir, args, cwd=None):
        self.args = args
        self.proc = subprocess.Popen([weir, "sql"] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sql_env(),
                                     cwd=cwd)
        self._out, self._err = [], []
        self._threads = [threading.Thread(target=self._drain, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._drain, args=(self.proc.stderr, self._err), daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _drain(pipe, sink):
        for line in iter(pipe.readline, b""):
            sink.append(line.decode("utf-8", errors="replace"))
        pipe.close()

    def stdout(self):
        return "".join(list(self._out))

    def stderr(self):
        return "".join(list(self._err))

    def alive(self):
        return self.proc.poll() is None

    def interrupt(self, timeout=30):
        """SIGINT (Ctrl-C), then waits; returns (rc, stdout, stderr)."""
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            for t in self._threads:
                t.join(5)
            pytest.fail("weir sql %s did not stop within %ss of SIGINT\nstderr:\n%s" % (
                " ".join(self.args), timeout, self.stderr()[-4000:]), pytrace=False)
        for t in self._threads:
            t.join(10)
        check_sanitizers("weir sql", self.stderr())
        return self.proc.returncode, self.stdout(), self.stderr()

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()


def stop(run, sig=signal.SIGTERM, timeout=60):
    """Sends sig to a Running `weir sql` and waits for it to end (kills it and fails after
    timeout); checks its stderr for sanitizer reports; returns its exit status."""
    if run.alive():
        run.proc.send_signal(sig)
    try:
        run.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        pytest.fail("weir sql did not stop within %ss\nstderr:\n%s" % (timeout, run.stderr()[-4000:]), pytrace=False)
    for t in run._threads:
        t.join(10)
    check_sanitizers("weir sql", run.stderr())
    return run.proc.returncode


# ------------------------------------------------------------------ topics

def produce_values(p, topic, items):
    """Produces each (partition, value) of items to topic in order with producer p (waiting
    while its queue is full), then flushes and fails unless every record was delivered.
    Returns the (partition, offset) of each record, in the order of items."""
    reports = {}
    n = 0
    for i, (part, value) in enumerate(items):
        n += 1
        while True:
            try:
                p.produce(topic, value=value, partition=part,
                          on_delivery=lambda err, msg, i=i: reports.__setitem__(i, (err, msg.partition(), msg.offset())))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(60) == 0, "records of %s still undelivered" % topic
    errs = [e for e, _p, _o in reports.values() if e is not None]
    assert len(reports) == n and not errs, "delivery to %s failed: %s" % (topic, errs[:3])
    return [reports[i][1:] for i in range(n)]


def read_topic(bootstrap, topic, timeout=30, expect=None):
    """Every record of every partition of topic, up to the end of each partition (and, if
    expect is given, until at least that many arrived). Returns the consumer messages."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "weir-it-sql-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "error", "fetch.wait.max.ms": 100})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        msgs, eof = [], set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=10000, timeout=0.2):
                if m.error() is None:
                    msgs.append(m)
                    eof.discard(m.partition())
                elif m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                else:
                    pytest.fail("consumer error on %s: %s" % (topic, m.error()), pytrace=False)
            if len(eof) == len(parts) and (expect is None or len(msgs) >= expect):
                return msgs
        pytest.fail("read %d records of %s in %ss (partitions at end: %s of %s, expected %s)" % (
            len(msgs), topic, timeout, sorted(eof), parts, expect), pytrace=False)
    finally:
        c.close()


# ------------------------------------------------------------------ checkpoints

def complete_checkpoints(chk_dir):
    """(number, path of _metadata) of each complete checkpoint under chk_dir/<job id>/chk-N
    (savepoints left out), oldest first; [] when there is none."""
    done = []
    if not os.path.isdir(chk_dir):
        return done
    for job in os.listdir(chk_dir):
        d = os.path.join(chk_dir, job)
        if job == "savepoints" or not os.path.isdir(d):
            continue
        for c in os.listdir(d):
            meta = os.path.join(d, c, "_metadata")
            if c.startswith("chk-") and os.path.exists(meta):
                done.append((int(c[4:]), meta))
    return sorted(done)


def checkpoint_sources(meta_path):
    """Per source of a checkpoint's (or savepoint's) _metadata, {(topic, partition): next
    offset} from its Kafka position bytes (version, u16 topic length, topic, i32
    partition, i64 offset, big-endian)."""
    with open(meta_path) as f:
        meta = json.load(f)
    out = []
    for src in meta["sources"]:
        offs = {}
        for sp in src["splits"]:
            b = bytes.fromhex(sp["position"])
            tl = int.from_bytes(b[1:3], "big")
            offs[(b[3:3 + tl].decode(), int.from_bytes(b[3 + tl:7 + tl], "big"))] = int.from_bytes(b[7 + tl:15 + tl], "big")
        out.append(offs)
    return out


def checkpoint_positions(meta_path):
    """{(topic, partition): next offset} over every source of a checkpoint's _metadata."""
    out = {}
    for offs in checkpoint_sources(meta_path):
        out.update(offs)
    return out


# ------------------------------------------------------------------ normalisation

_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$")


def parse_ts(v):
    m = _TS_RE.match(v)
    if not m:
        raise ValueError("not a SQL timestamp: %r" % (v,))
    frac = (m.group(5) or "").ljust(6, "0")[:6]
    return datetime.datetime.strptime("%s %s:%s:%s.%s" % (m.group(1), m.group(2), m.group(3),
                                                          m.group(4), frac), "%Y-%m-%d %H:%M:%S.%f")


def norm(typ, v, side):
    """One value of a column of Flink type typ ('BIGINT', 'DECIMAL(18, 2)', ...) in a
    comparable form. side is 'weir' (decoded JSON) or 'sqlite'."""
    if v is None:
        return None
    t = typ.upper()
    if t in ("INT", "BIGINT", "SMALLINT", "TINYINT"):
        if side == "weir" and not isinstance(v, int):
            raise AssertionError("%s value %r is not a JSON integer" % (typ, v))
        return int(v)
    if t.startswith("DECIMAL"):
        scale = int(re.search(r",\s*(\d+)\)", t).group(1))
        q = Decimal(1).scaleb(-scale)
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        if side == "weir" and d != d.quantize(q, rounding=ROUND_HALF_UP):
            raise AssertionError("%s value %r has more digits than its scale" % (typ, v))
        return ("dec", d.quantize(q, rounding=ROUND_HALF_UP))
    if t in ("DOUBLE", "FLOAT"):
        # + 0.0 folds -0.0 into 0.0: SQLite stores an integral REAL as an integer and so
        # loses the sign of -0.0 (Java, Flink and Weir keep it)
        return ("dbl", "%.12g" % (float(v) + 0.0))
    if t == "BOOLEAN":
        if side == "weir" and not isinstance(v, bool):
            raise AssertionError("BOOLEAN value %r is not a JSON boolean" % (v,))
        return bool(v)
    if t == "DATE":
        return datetime.date.fromisoformat(v)
    if t.startswith("TIMESTAMP"):
        return parse_ts(v)
    if not isinstance(v, str):
        raise AssertionError("%s value %r is not a string" % (typ, v))
    return v


def compare_multisets(columns, got_rows, want_rows, what):
    """columns: [(name, type)]; got_rows: dicts from the sink's JSON; want_rows: tuples
    from SQLite. Fails with the differing rows (a few of each side)."""
    names = [c for c, _ in columns]
    got = collections.Counter()
    for r in got_rows:
        extra = set(r) - set(names)
        assert not extra, "%s: sink record has unexpected fields %s: %r" % (what, extra, r)
        got[tuple(norm(t, r.get(c), "weir") for c, t in columns)] += 1
    want = collections.Counter(tuple(norm(t, v, "sqlite") for (_c, t), v in zip(columns, row))
                               for row in want_rows)
    if got == want:
        return
    missing = list((want - got).elements())[:8]
    unexpected = list((got - want).elements())[:8]
    pytest.fail("%s: weir produced %d rows, SQLite %d; %d rows only in SQLite, %d only in weir\n"
                "columns: %s\nonly in SQLite (first 8):\n  %s\nonly in weir (first 8):\n  %s" % (
                    what, sum(got.values()), sum(want.values()), sum((want - got).values()),
                    sum((got - want).values()), names,
                    "\n  ".join(map(repr, missing)), "\n  ".join(map(repr, unexpected))),
                pytrace=False)


# ------------------------------------------------------------------ terminal output

def parse_tableau(text):
    """Rows of Flink's tableau (`| op | col | ... |` between +---+ rules) as lists of
    stripped cell strings, header first. Lines that are not table rows are skipped."""
    rows = []
    for line in text.splitlines():
        line = line.rstrip()
        if line.startswith("|") and line.endswith("|"):
            rows.append([c.strip() for c in line[1:-1].split("|")])
    return rows


_PRINT_RE = re.compile(r"^(?:[^>\[]*> )?([+-][IUD])\[(.*)\]$")


def parse_print(text):
    """(row kind, [fields]) for each line the print connector wrote (`+I[1, a]`, with an
    optional `identifier> ` or `identifier:task> ` prefix); fields split on ', '."""
    out = []
    for line in text.splitlines():
        m = _PRINT_RE.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2).split(", ") if m.group(2) else []))
    return out


# ------------------------------------------------------------------ changelogs

def changelog_state(columns, table, what, cell):
    """The multiset left after applying a tableau's changelog (+I/+U add a row, -U/-D take
    an equal one away), and the count of each kind. columns: [(name, Flink type)]; cell
    turns a tableau cell into the value norm takes. A retraction of a row that is not
    there fails: Flink's changelog never does that."""
    assert table, "%s: no tableau printed" % what
    assert table[0] == ["op"] + [c for c, _ in columns], "%s: header %r" % (what, table[0])
    state, kinds = collections.Counter(), collections.Counter()
    for r in table[1:]:
        kinds[r[0]] += 1
        row = tuple(norm(t, cell(t, v), "sqlite") for (_c, t), v in zip(columns, r[1:]))
        if r[0] in ("+I", "+U"):
            state[row] += 1
        else:
            assert r[0] in ("-U", "-D"), "%s: row kind %r" % (what, r[0])
            assert state[row] > 0, "%s: %s retracts a row that is not there: %r" % (what, r[0], row)
            state[row] -= 1
    return +state, kinds


def run_changelog_case(weir, bootstrap, script, columns, db, sqlite, what, cell, want_rows=False):
    """Runs script (`weir sql -e`, ending in a query printed as a tableau) and compares the
    final state of its changelog with SQLite's answer to sqlite over db; with want_rows,
    an empty answer fails too (the case would test nothing). Returns the count of each
    row kind."""
    p = run_sql(weir, ["-e", script, "--bootstrap-servers", bootstrap])
    assert p.returncode == 0, "%s: weir sql -e exited %s\nstdout:\n%s\nstderr:\n%s" % (
        what, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    got, kinds = changelog_state(columns, parse_tableau(p.stdout), what, cell)
    want = collections.Counter(tuple(norm(t, v, "sqlite") for (_c, t), v in zip(columns, row))
                               for row in db.execute(sqlite).fetchall())
    if got != want:
        pytest.fail("%s: final state differs from SQLite (weir %d rows, SQLite %d)\nonly in SQLite: %s\n"
                    "only in weir: %s" % (what, sum(got.values()), sum(want.values()),
                                          list((want - got).elements())[:8], list((got - want).elements())[:8]),
                    pytrace=False)
    if want_rows:
        assert sum(want.values()) > 0, "%s: the oracle's result is empty; the case tests nothing" % what
    return kinds
