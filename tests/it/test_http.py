"""The HTTP listener: /metrics parsed by a real Prometheus text parser
(python3-prometheus-client) and checked against what was produced, fetched and committed;
/healthz and /readyz; the `weir topics` and `weir groups` commands (table and -o json)
checked against the broker's own answers; a clear error when nothing listens."""

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

import kproto
from clients import assert_delivered, produce_all, producer
from conftest import broker_env, create_topic, free_port, require_bin, wait_until


# ---------------------------------------------------------------- helpers

def http_get(broker, path, method="GET"):
    """(status, content type, body text) of one request to the broker's HTTP listener."""
    req = urllib.request.Request("http://%s%s" % (broker.http, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


class Scrape:
    """One /metrics scrape, parsed by prometheus_client: families by name and every
    sample by (sample name, labels)."""

    def __init__(self, broker):
        status, ctype, text = http_get(broker, "/metrics")
        assert status == 200, text
        assert ctype.startswith("text/plain") and "0.0.4" in ctype, ctype
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {}
        for f in self.families.values():
            for s in f.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(self, name, default=None, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), default)

    def histogram(self, name, **labels):
        """{le: cumulative count}, sum, count of one histogram series."""
        buckets = {}
        for (n, lbl), v in self.samples.items():
            d = dict(lbl)
            le = d.pop("le", None)
            if n == name + "_bucket" and d == labels:
                buckets[float(le)] = v
        return buckets, self.get(name + "_sum", **labels), self.get(name + "_count", **labels)


def assert_histogram_sane(scrape, name, **labels):
    buckets, total, count = scrape.histogram(name, **labels)
    assert len(buckets) >= 5, "%s%r has buckets %r" % (name, labels, buckets)
    assert float("inf") in buckets, "no le=+Inf bucket in %s%r" % (name, labels)
    les = sorted(buckets)
    counts = [buckets[le] for le in les]
    assert counts == sorted(counts), "buckets of %s%r are not cumulative: %r" % (name, labels, buckets)
    assert buckets[float("inf")] == count, "+Inf bucket %s != _count %s" % (buckets[float("inf")], count)
    assert total is not None and total >= 0
    return buckets, total, count


def stored_batches(broker, topic, partition):
    """(bytes, records) of every batch stored in a partition, read with a raw Fetch."""
    with kproto.Conn(broker.port) as c:
        res = kproto.fetch(c, topic, partition, 0, max_bytes=16 << 20)
    assert res["error"] == 0, res
    return len(res["records"]), sum(n for _o, _a, n in kproto.batch_headers(res["records"]))


def weir(*args, timeout=30):
    return subprocess.run([require_bin(), *args], capture_output=True, text=True,
                          env=broker_env({}), timeout=timeout, stdin=subprocess.DEVNULL)


def table(stdout):
    """Rows of a `weir topics`/`weir groups` table as dicts keyed by the header."""
    lines = [l.split() for l in stdout.splitlines() if l.strip()]
    assert lines, "empty table"
    header = lines[0]
    for l in lines[1:]:
        assert len(l) == len(header), "row %r does not fit header %r" % (l, header)
    return [dict(zip(header, l)) for l in lines[1:]]


# ---------------------------------------------------------------- health

def test_healthz_readyz_and_unknown_paths(broker):
    assert http_get(broker, "/healthz")[0::2] == (200, "ok\n")
    assert http_get(broker, "/readyz")[0::2] == (200, "ready\n")
    status, ctype, body = http_get(broker, "/no/such/thing")
    assert status == 404 and "/no/such/thing" in json.loads(body)["error"]
    assert http_get(broker, "/metrics", method="POST")[0] == 405


def test_http_listener_port_in_use_stops_the_start(tmp_path, broker):
    env = {"WEIR_LISTENERS": "PLAINTEXT://127.0.0.1:%d" % free_port(),
           "WEIR_LOG_DIRS": str(tmp_path / "data"),
           "WEIR_HTTP_LISTENER": broker.http}
    p = subprocess.run([require_bin(), "serve"], capture_output=True, text=True, env=broker_env(env),
                       cwd=str(tmp_path), timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "http.listener" in p.stderr and "in use" in p.stderr, p.stderr


# ---------------------------------------------------------------- /metrics

def test_metrics_topic_bytes_and_records(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    before = Scrape(broker)
    assert before.get("weir_topic_bytes_in_total", topic=topic) == 0
    assert before.get("weir_topic_records_out_total", topic=topic) == 0
    assert before.families["weir_topic_bytes_in"].type == "counter"

    p = producer(broker.bootstrap, linger_ms=20)
    assert_delivered(produce_all(p, topic, [{"value": b"v%03d" % i} for i in range(30)], partition=0))
    assert_delivered(produce_all(p, topic, [{"key": b"k", "value": b"x" * 500} for _ in range(7)],
                                 partition=1))
    stored = {k: stored_batches(broker, topic, k) for k in (0, 1)}  # also fetches each once
    s = Scrape(broker)
    total_bytes = stored[0][0] + stored[1][0]
    assert stored[0][1] == 30 and stored[1][1] == 7
    assert s.get("weir_topic_records_in_total", topic=topic) == 37
    assert s.get("weir_topic_bytes_in_total", topic=topic) == total_bytes
    for k in (0, 1):
        assert s.get("weir_partition_bytes", topic=topic, partition=str(k)) == stored[k][0]
        assert s.get("weir_partition_high_watermark", topic=topic, partition=str(k)) == stored[k][1]
        assert s.get("weir_partition_log_start_offset", topic=topic, partition=str(k)) == 0
    # the raw fetches above read each partition's batches exactly once
    assert s.get("weir_topic_bytes_out_total", topic=topic) == total_bytes
    assert s.get("weir_topic_records_out_total", topic=topic) == 37

    # a real consumer reading partition 1 adds its batches again
    from clients import consume_all
    assert len(consume_all(broker.bootstrap, topic, partition=1, expect=7)) == 7
    s2 = Scrape(broker)
    assert s2.get("weir_topic_records_out_total", topic=topic) == 37 + 7
    assert s2.get("weir_topic_bytes_out_total", topic=topic) == total_bytes + stored[1][0]
    assert s2.get("weir_topic_records_in_total", topic=topic) == 37


def test_metrics_requests_latency_connections_wal(fresh_broker, topic):
    b = fresh_broker
    # the start-up probe's connection may still be closing
    wait_until(lambda: Scrape(b).get("weir_connections") == 0, what="no open connections")
    s0 = Scrape(b)
    conns = [kproto.Conn(b.port) for _ in range(3)]
    try:
        for c in conns:
            assert kproto.api_versions(c, 0)["error"] == 0
        for _ in range(4):
            kproto.metadata(conns[0], [])
        assert kproto.create_topic(conns[1], topic, 1) == 0
        batch = kproto.record_batch([(b"k", b"hello", None)])
        for _ in range(5):
            assert kproto.produce(conns[2], topic, 0, batch)["error"] == 0
        s1 = Scrape(b)
        assert s1.get("weir_connections") == 3
        assert s1.families["weir_connections"].type == "gauge"
    finally:
        for c in conns:
            c.close()

    def delta(name, **labels):
        return s1.get(name, 0, **labels) - s0.get(name, 0, **labels)

    assert delta("weir_requests_total", api="ApiVersions") == 3
    assert delta("weir_requests_total", api="Metadata") == 4
    assert delta("weir_requests_total", api="CreateTopics") == 1
    assert delta("weir_requests_total", api="Produce") == 5
    assert s1.families["weir_request_duration_seconds"].type == "histogram"
    for api in ("ApiVersions", "Metadata", "Produce"):
        _b, total, count = assert_histogram_sane(s1, "weir_request_duration_seconds", api=api)
        assert count == s1.get("weir_requests_total", api=api)
        assert total > 0

    # every acknowledged produce was its own WAL object (one at a time, acks=all)
    buckets, size_sum, flushes = assert_histogram_sane(s1, "weir_wal_object_size_bytes")
    assert flushes == 5 and size_sum == 5 * len(batch)
    assert buckets[1024.0] == 5  # each object is one small batch
    _b, flush_secs, nflush = assert_histogram_sane(s1, "weir_wal_flush_duration_seconds")
    assert nflush == 5 and flush_secs > 0
    assert s1.get("weir_objects") == 5
    assert s1.get("weir_object_bytes") == 5 * len(batch)

    wait_until(lambda: Scrape(b).get("weir_connections") == 0,
               what="the connections gauge to drop back once the connections closed")


# ---------------------------------------------------------------- consumer-group lag

def group_consumer(bootstrap, group):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 10000, "socket.timeout.ms": 10000,
                     "fetch.wait.max.ms": 100})


def lag_from_offsets(c, topic, partitions):
    """{partition: high watermark - committed offset}, as a client computes it."""
    out = {}
    for tp in c.committed([TopicPartition(topic, k) for k in partitions], timeout=10):
        _lo, hi = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
        out[tp.partition] = hi - tp.offset
    return out


def lag_metrics(broker, group, topic):
    s = Scrape(broker)
    return {int(dict(l)["partition"]): v for (n, l), v in s.samples.items()
            if n == "weir_group_lag" and dict(l).get("group") == group and dict(l).get("topic") == topic}


def test_group_lag_metrics_and_weir_groups(broker, topic):
    group = "lag-" + topic
    create_topic(broker.bootstrap, topic, partitions=2)
    p = producer(broker.bootstrap)
    assert_delivered(produce_all(p, topic, [{"value": b"a%d" % i} for i in range(10)], partition=0))
    assert_delivered(produce_all(p, topic, [{"value": b"b%d" % i} for i in range(6)], partition=1))

    c = group_consumer(broker.bootstrap, group)
    try:
        c.subscribe([topic])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 16 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m)
        assert len(got) == 16, "consumed %d of 16" % len(got)
        # commit part of partition 0 and all of partition 1
        c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False)
        assert lag_from_offsets(c, topic, [0, 1]) == {0: 6, 1: 0}
        assert lag_metrics(broker, group, topic) == {0: 6, 1: 0}

        # more records: the lag grows by exactly that many
        assert_delivered(produce_all(p, topic, [{"value": b"c%d" % i} for i in range(3)], partition=1))
        expected = lag_from_offsets(c, topic, [0, 1])
        assert expected == {0: 6, 1: 3}
        assert lag_metrics(broker, group, topic) == expected
        s = Scrape(broker)
        assert s.get("weir_group_committed_offset", group=group, topic=topic, partition="0") == 4
        assert s.get("weir_group_members", group=group) == 1

        # weir groups: the same numbers, as JSON and as a table
        r = weir("groups", "--http", broker.http, "-o", "json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        g = [g for g in doc["groups"] if g["group"] == group]
        assert len(g) == 1, doc
        g = g[0]
        assert g["state"] == "Stable" and len(g["members"]) == 1 and g["protocol_type"] == "consumer"
        offs = {o["partition"]: o for o in g["offsets"] if o["topic"] == topic}
        assert {k: (o["committed_offset"], o["end_offset"], o["lag"]) for k, o in offs.items()} == \
            {0: (4, 10, 6), 1: (6, 9, 3)}

        r = weir("groups", "--http", broker.http)
        assert r.returncode == 0, r.stderr
        rows = [row for row in table(r.stdout) if row["GROUP"] == group]
        assert sorted((row["TOPIC"], row["PARTITION"], row["STATE"], row["MEMBERS"], row["COMMITTED"],
                       row["END"], row["LAG"]) for row in rows) == [
            (topic, "0", "Stable", "1", "4", "10", "6"), (topic, "1", "Stable", "1", "6", "9", "3")]
    finally:
        c.close()

    # after the member left: Empty, no members, offsets and lag kept
    def left():
        doc = json.loads(weir("groups", "--http", broker.http, "-o", "json").stdout)
        g = [g for g in doc["groups"] if g["group"] == group][0]
        return g if g["state"] == "Empty" else None

    g = wait_until(left, timeout=20, what="the group to be Empty after its member closed")
    assert g["members"] == []
    assert lag_metrics(broker, group, topic) == {0: 6, 1: 3}
    assert Scrape(broker).get("weir_group_members", group=group) == 0


# ---------------------------------------------------------------- weir topics

def test_weir_topics_table_and_json(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    p = producer(broker.bootstrap)
    assert_delivered(produce_all(p, topic, [{"value": b"x%d" % i} for i in range(12)], partition=0))
    assert_delivered(produce_all(p, topic, [{"value": b"y%d" % i} for i in range(5)], partition=2))
    stored = {k: stored_batches(broker, topic, k) for k in range(3)}
    with kproto.Conn(broker.port) as c:
        ends = {k: kproto.list_offsets(c, topic, k, -1)["offset"] for k in range(3)}
    assert ends == {0: 12, 1: 0, 2: 5}

    r = weir("topics", "--http", broker.http, "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    t = [t for t in doc["topics"] if t["name"] == topic]
    assert len(t) == 1, doc
    t = t[0]
    assert t["partition_count"] == 3 and len(t["id"]) == 22
    assert {q["partition"]: (q["log_start_offset"], q["high_watermark"], q["bytes"]) for q in t["partitions"]} == \
        {k: (0, ends[k], stored[k][0]) for k in range(3)}
    assert t["bytes"] == sum(v[0] for v in stored.values())
    assert t["records_in"] == 17

    r = weir("topics", "--http", broker.http)
    assert r.returncode == 0, r.stderr
    rows = [row for row in table(r.stdout) if row["TOPIC"] == topic]
    assert sorted((row["PARTITION"], row["LOG-START"], row["END"], row["BYTES"], row["ID"]) for row in rows) == \
        [(str(k), "0", str(ends[k]), str(stored[k][0]), t["id"]) for k in range(3)]


def test_cli_unreachable_server_is_a_clear_error():
    addr = "127.0.0.1:%d" % free_port()  # nothing listens there
    for cmd in ("topics", "groups"):
        r = weir(cmd, "--http", addr)
        assert r.returncode != 0
        assert r.stdout == ""
        assert "cannot reach" in r.stderr and addr in r.stderr, r.stderr


def test_cli_help_lists_topics_and_groups():
    r = weir("--help")
    assert r.returncode == 0
    assert "topics" in r.stdout and "groups" in r.stdout
    for cmd in ("topics", "groups"):
        r = weir(cmd, "--help")
        assert r.returncode == 0 and "--http" in r.stdout and "-o" in r.stdout
    r = weir("topics", "-o", "yaml")
    assert r.returncode != 0 and "yaml" in r.stderr
