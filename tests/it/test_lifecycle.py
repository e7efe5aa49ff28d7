"""Object lifecycle and the admin APIs around it, against the real broker: retention by
time and by size with confluent-kafka, DeleteRecords (v0 and v2), AlterConfigs with
confluent-kafka's and kafka-python's admin clients, IncrementalAlterConfigs (v0, v1),
DescribeCluster (v0, v1), OffsetForLeaderEpoch (v0, v4), ListOffsets max-timestamp, and
compaction: many small WAL objects are merged into stream objects while consumers read,
and every byte reads the same before, during and after; orphans are collected."""

import os
import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigResource

import kproto
from clients import as_tuples, assert_delivered, consume_all, produce_all, producer
from conftest import admin, create_topic, wait_until
from kproto import array, i8, i16, i32, i64, string, uvarint, compact_string

FAST = {"WEIR_LOG_RETENTION_CHECK_INTERVAL_MS": "200", "WEIR_LOG_OBJECT_DELETE_GRACE_MS": "500"}

API_DELETE_RECORDS = 21
API_OFFSET_FOR_LEADER_EPOCH = 23
API_ALTER_CONFIGS = 33
API_INCREMENTAL_ALTER_CONFIGS = 44
API_DESCRIBE_CLUSTER = 60
INVALID_CONFIG = 40
INVALID_REQUEST = 42


# ---------------------------------------------------------------- flexible-version helpers

TAGS = uvarint(0)


def carray(items, enc):
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


def r_carray(r, fn):
    n = r.uvarint() - 1
    return None if n < 0 else [fn(r) for _ in range(n)]


def r_tags(r):
    assert r.uvarint() == 0, "unexpected tagged fields"


def low_high(port, topic, partition=0):
    with kproto.Conn(port) as c:
        low = kproto.list_offsets(c, topic, partition, -2)
        high = kproto.list_offsets(c, topic, partition, -1)
    return low["offset"], high["offset"]


def fetch_all_raw(port, topic, partition, offset, end):
    """The stored record batches from offset up to end, exactly as the broker returns
    them (Fetch v4 with a small max so it takes several fetches)."""
    out = b""
    with kproto.Conn(port) as c:
        while offset < end:
            res = kproto.fetch(c, topic, partition, offset, max_bytes=4096)
            assert res["error"] == 0, "fetch at %d: error %d" % (offset, res["error"])
            batches = kproto.batch_headers(res["records"])
            assert batches, "fetch at %d returned no whole batch" % offset
            whole = res["records"]
            # keep whole batches only (the last one may be cut at max_bytes)
            used, pos = b"", 0
            for base, _attrs, n in batches:
                size = 12 + int.from_bytes(whole[pos + 8:pos + 12], "big")
                used += whole[pos:pos + size]
                pos += size
                offset = base + n
            out += used
    return out


def count_objects(broker, prefix):
    root = os.path.join(broker.data_dir, "objects", prefix)
    n = 0
    for _d, _dirs, files in os.walk(root):
        n += len([f for f in files if not f.startswith(".")])
    return n


# ---------------------------------------------------------------- retention

def test_retention_by_time(broker_factory, topic):
    b = broker_factory(FAST)
    create_topic(b.bootstrap, topic, config={"retention.ms": "600000"})  # ten minutes
    p = producer(b.bootstrap)
    old = int(time.time() * 1000) - 3600 * 1000
    assert_delivered(produce_all(p, topic, [{"key": b"old%d" % i, "value": b"o", "timestamp": old + i}
                                            for i in range(10)]))
    fresh = [{"key": b"new%d" % i, "value": b"n%d" % i} for i in range(5)]
    assert_delivered(produce_all(p, topic, fresh))
    wait_until(lambda: low_high(b.port, topic) == (10, 15), timeout=20,
               what="log start to pass the hour-old records")
    msgs = consume_all(b.bootstrap, topic)
    assert [(m.offset(), m.key()) for m in msgs] == [(10 + i, b"new%d" % i) for i in range(5)]
    with kproto.Conn(b.port) as c:
        assert kproto.fetch(c, topic, 0, 3)["error"] == kproto.OFFSET_OUT_OF_RANGE
    b.restart()  # durable
    assert low_high(b.port, topic) == (10, 15)


def test_retention_by_size(broker_factory, topic):
    b = broker_factory(FAST)
    limit = 3000
    create_topic(b.bootstrap, topic, config={"retention.bytes": str(limit)})
    p = producer(b.bootstrap)
    for i in range(10):  # one flush each: ten ranges of about 1 KB
        assert_delivered(produce_all(p, topic, [{"key": b"k%d" % i, "value": bytes([65 + i]) * 1000}]))
    wait_until(lambda: low_high(b.port, topic)[0] > 0, timeout=20, what="retention by size")
    low, high = low_high(b.port, topic)
    assert high == 10
    raw = fetch_all_raw(b.port, topic, 0, low, high)
    first = 12 + int.from_bytes(raw[8:12], "big")
    # Kafka's rule: the oldest go while what remains is still at least retention.bytes
    assert len(raw) >= limit and len(raw) - first < limit, (len(raw), first)
    msgs = consume_all(b.bootstrap, topic)
    assert [m.key() for m in msgs] == [b"k%d" % i for i in range(low, 10)]


# ---------------------------------------------------------------- DeleteRecords

def delete_records(port, topic, partition, offset, version):
    if version >= 2:
        body = (carray([topic], lambda t: compact_string(t) + carray(
            [partition], lambda p: i32(p) + i64(offset) + TAGS) + TAGS) + i32(10000) + TAGS)
    else:
        body = array([topic], lambda t: string(t) + array(
            [partition], lambda p: i32(p) + i64(offset))) + i32(10000)
    with kproto.Conn(port) as c:
        _, r = c.request(API_DELETE_RECORDS, version, body, flexible=version >= 2)
    r.i32()
    if version >= 2:
        def part(r):
            d = dict(partition=r.i32(), low=r.i64(), error=r.i16())
            r_tags(r)
            return d

        def top(r):
            name = r.compact_string()
            ps = r_carray(r, part)
            r_tags(r)
            return name, ps
        topics = r_carray(r, top)
    else:
        topics = r.array(lambda r: (r.string(), r.array(
            lambda r: dict(partition=r.i32(), low=r.i64(), error=r.i16()))))
    return dict(topics)[topic][0]


@pytest.mark.parametrize("version", [0, 2])
def test_delete_records(broker, topic, version):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap)
    assert_delivered(produce_all(p, topic, [{"key": b"k%d" % i, "value": b"v"} for i in range(8)]))
    res = delete_records(broker.port, topic, 0, 5, version)
    assert (res["error"], res["low"]) == (0, 5)
    assert low_high(broker.port, topic) == (5, 8)
    assert [m.offset() for m in consume_all(broker.bootstrap, topic)] == [5, 6, 7]
    res = delete_records(broker.port, topic, 0, 9, version)  # past the high watermark
    assert res["error"] == kproto.OFFSET_OUT_OF_RANGE
    res = delete_records(broker.port, topic, 0, -1, version)  # -1: the high watermark
    assert (res["error"], res["low"]) == (0, 8)
    assert low_high(broker.port, topic) == (8, 8)
    assert delete_records(broker.port, "no-such-topic-dr", 0, 1, version)["error"] == \
        kproto.UNKNOWN_TOPIC_OR_PARTITION


# ---------------------------------------------------------------- AlterConfigs

def describe(bootstrap, topic):
    res = ConfigResource("topic", topic)
    a = admin(bootstrap)  # kept alive until the result is in
    cfg = a.describe_configs([res])[res].result(timeout=10)
    return {k: v.value for k, v in cfg.items()}, {k: v.source for k, v in cfg.items()}


def test_alter_configs_confluent(fresh_broker, topic):
    b = fresh_broker
    create_topic(b.bootstrap, topic, config={"retention.bytes": "100000"})
    a = admin(b.bootstrap)
    res = ConfigResource("topic", topic, set_config={"retention.ms": "123456", "max.message.bytes": "300"})
    a.alter_configs([res])[res].result(timeout=10)
    values, sources = describe(b.bootstrap, topic)
    assert values["retention.ms"] == "123456"
    assert values["max.message.bytes"] == "300"
    assert values["retention.bytes"] == "-1"  # AlterConfigs replaces the whole set
    assert sources["retention.ms"] == 1  # DYNAMIC_TOPIC_CONFIG
    # the new max.message.bytes is in force
    p = producer(b.bootstrap)
    reports = produce_all(p, topic, [{"key": b"k", "value": b"x" * 1000}])
    assert reports[0][0] is not None and reports[0][0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    # compaction is refused with a clear error, nothing changes
    bad = ConfigResource("topic", topic, set_config={"cleanup.policy": "compact"})
    with pytest.raises(KafkaException) as e:
        a.alter_configs([bad])[bad].result(timeout=10)
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert "cleanup.policy=compact is not supported" in e.value.args[0].str()
    # broker configs are static
    broker_res = ConfigResource("broker", "0", set_config={"log.retention.ms": "1000"})
    with pytest.raises(KafkaException) as e:
        a.alter_configs([broker_res])[broker_res].result(timeout=10)
    assert "weir.properties" in e.value.args[0].str()
    # validate_only changes nothing
    res2 = ConfigResource("topic", topic, set_config={"retention.ms": "1"})
    a.alter_configs([res2], validate_only=True)[res2].result(timeout=10)
    assert describe(b.bootstrap, topic)[0]["retention.ms"] == "123456"
    b.restart()
    values, _ = describe(b.bootstrap, topic)
    assert (values["retention.ms"], values["max.message.bytes"]) == ("123456", "300")


def test_alter_configs_kafka_python(broker, topic):
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, KafkaAdminClient
    create_topic(broker.bootstrap, topic)
    ka = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        resp = ka.alter_configs([KConfigResource(ConfigResourceType.TOPIC, topic,
                                                 configs={"retention.ms": "7777", "message.timestamp.type":
                                                          "LogAppendTime"})])
        assert [(r[0], r[2], r[3]) for r in resp.resources] == [(0, 2, topic)]
        resp = ka.alter_configs([KConfigResource(ConfigResourceType.TOPIC, topic,
                                                 configs={"retention.ms": "soon"})])
        assert resp.resources[0][0] == INVALID_CONFIG
    finally:
        ka.close()
    values, _ = describe(broker.bootstrap, topic)
    assert (values["retention.ms"], values["message.timestamp.type"]) == ("7777", "LogAppendTime")
    # LogAppendTime is in force: the broker stamps the records
    before = int(time.time() * 1000)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, [{"value": b"v", "timestamp": 1000}]))
    m = consume_all(broker.bootstrap, topic)[0]
    assert m.timestamp()[1] >= before - 1000


def incremental_alter(port, topic, ops, version, validate_only=False, rtype=2):
    if version >= 1:
        body = carray([0], lambda _: i8(rtype) + compact_string(topic) + carray(
            ops, lambda o: compact_string(o[0]) + i8(o[1]) + compact_string(o[2]) + TAGS) + TAGS) + \
            i8(1 if validate_only else 0) + TAGS
    else:
        body = array([0], lambda _: i8(rtype) + string(topic) + array(
            ops, lambda o: string(o[0]) + i8(o[1]) + string(o[2]))) + i8(1 if validate_only else 0)
    with kproto.Conn(port) as c:
        _, r = c.request(API_INCREMENTAL_ALTER_CONFIGS, version, body, flexible=version >= 1)
    r.i32()
    if version >= 1:
        def res(r):
            d = dict(error=r.i16(), message=r.compact_string(), type=r.i8(), name=r.compact_string())
            r_tags(r)
            return d
        return r_carray(r, res)[0]
    return r.array(lambda r: dict(error=r.i16(), message=r.string(), type=r.i8(), name=r.string()))[0]


@pytest.mark.parametrize("version", [0, 1])
def test_incremental_alter_configs(broker, topic, version):
    create_topic(broker.bootstrap, topic, config={"retention.bytes": "50000"})
    SET, DELETE, APPEND = 0, 1, 2
    res = incremental_alter(broker.port, topic, [("retention.ms", SET, "99999")], version)
    assert res["error"] == 0, res
    values, _ = describe(broker.bootstrap, topic)
    assert (values["retention.ms"], values["retention.bytes"]) == ("99999", "50000")  # others kept
    res = incremental_alter(broker.port, topic, [("retention.bytes", DELETE, None)], version)
    assert res["error"] == 0
    assert describe(broker.bootstrap, topic)[0]["retention.bytes"] == "-1"
    res = incremental_alter(broker.port, topic, [("retention.ms", SET, "1")], version, validate_only=True)
    assert res["error"] == 0
    assert describe(broker.bootstrap, topic)[0]["retention.ms"] == "99999"
    res = incremental_alter(broker.port, topic, [("cleanup.policy", APPEND, "compact")], version)
    assert res["error"] == INVALID_CONFIG and "compact" in res["message"], res
    res = incremental_alter(broker.port, topic, [("no.such.config", SET, "1")], version)
    assert res["error"] == INVALID_CONFIG and "no.such.config" in res["message"]
    res = incremental_alter(broker.port, "0", [("log.retention.ms", SET, "1")], version, rtype=4)
    assert res["error"] == INVALID_REQUEST and "weir.properties" in res["message"]


# ---------------------------------------------------------------- DescribeCluster, OffsetForLeaderEpoch, ListOffsets

@pytest.mark.parametrize("version", [0, 1])
def test_describe_cluster(broker, version):
    body = i8(1) + (i8(1) if version >= 1 else b"") + TAGS
    with kproto.Conn(broker.port) as c:
        _, r = c.request(API_DESCRIBE_CLUSTER, version, body, flexible=True)
    r.i32()
    error, _msg = r.i16(), r.compact_string()
    if version >= 1:
        assert r.i8() == 1
    cluster_id, controller = r.compact_string(), r.i32()

    def brk(r):
        d = dict(id=r.i32(), host=r.compact_string(), port=r.i32(), rack=r.compact_string())
        r_tags(r)
        return d
    brokers = r_carray(r, brk)
    ops = r.i32()
    assert error == 0
    md = admin(broker.bootstrap).list_topics(timeout=10)
    assert cluster_id == md.cluster_id and controller == md.controller_id == 0
    assert [(x["id"], x["host"], x["port"]) for x in brokers] == [(0, "127.0.0.1", broker.port)]
    assert ops & (1 << 7) and ops & (1 << 8)  # ALTER, DESCRIBE


@pytest.mark.parametrize("version", [0, 4])
def test_offset_for_leader_epoch(broker, topic, version):
    create_topic(broker.bootstrap, topic)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, [{"value": b"v"}] * 6))
    parts = [(0, 0), (0, 3), (7, 0)]  # (partition, epoch)
    if version >= 4:
        body = i32(-1) + carray([topic], lambda t: compact_string(t) + carray(
            parts, lambda p: i32(p[0]) + i32(-1) + i32(p[1]) + TAGS) + TAGS) + TAGS
    else:
        body = array([topic], lambda t: string(t) + array(parts, lambda p: i32(p[0]) + i32(p[1])))
    with kproto.Conn(broker.port) as c:
        _, r = c.request(API_OFFSET_FOR_LEADER_EPOCH, version, body, flexible=version >= 4)
    if version >= 4:
        r.i32()

        def part(r):
            d = dict(error=r.i16(), partition=r.i32(), epoch=r.i32(), end=r.i64())
            r_tags(r)
            return (d["error"], d["partition"], d["epoch"], d["end"])

        def top(r):
            name = r.compact_string()
            ps = r_carray(r, part)
            r_tags(r)
            return name, ps
        got = dict(r_carray(r, top))[topic]
        assert got == [(0, 0, 0, 6), (0, 0, -1, -1), (3, 7, -1, -1)]
    else:
        got = dict(r.array(lambda r: (r.string(), r.array(lambda r: (r.i16(), r.i32(), r.i64())))))[topic]
        assert got == [(0, 0, 6), (0, 0, -1), (3, 7, -1)]


def test_list_offsets_max_timestamp(broker, topic):
    create_topic(broker.bootstrap, topic)
    ts = [1700000005000, 1700000009000, 1700000001000, 1700000009000]
    assert_delivered(produce_all(producer(broker.bootstrap), topic, [{"value": b"v", "timestamp": t} for t in ts]))
    body = i32(-1) + i8(0) + carray([topic], lambda t: compact_string(t) + carray(
        [0], lambda p: i32(p) + i32(-1) + i64(-3) + TAGS) + TAGS) + TAGS
    with kproto.Conn(broker.port) as c:
        _, r = c.request(kproto.API_LIST_OFFSETS, 7, body, flexible=True)
    r.i32()

    def part(r):
        d = dict(partition=r.i32(), error=r.i16(), timestamp=r.i64(), offset=r.i64(), epoch=r.i32())
        r_tags(r)
        return d

    def top(r):
        name = r.compact_string()
        ps = r_carray(r, part)
        r_tags(r)
        return name, ps
    p = dict(r_carray(r, top))[topic][0]
    assert (p["error"], p["offset"], p["timestamp"]) == (0, 1, 1700000009000)  # the first with the max


# ---------------------------------------------------------------- compaction and collection

def test_compaction_equivalence(broker_factory, topic):
    b = broker_factory({"WEIR_LOG_RETENTION_CHECK_INTERVAL_MS": "300", "WEIR_LOG_OBJECT_DELETE_GRACE_MS": "1500",
                        "WEIR_LOG_TAIL_CACHE_BYTES": "0"})
    create_topic(b.bootstrap, topic, partitions=2)
    p = producer(b.bootstrap, linger_ms=0)
    expected = {0: [], 1: []}
    for i in range(40):  # many small flushes: many small WAL objects
        recs = [{"key": b"k%d-%d" % (i, j), "value": b"v%d-%d" % (i, j) * (1 + j),
                 "headers": [("h", b"%d" % j)]} for j in range(3)]
        for part in (0, 1):
            assert_delivered(produce_all(p, topic, recs, partition=part))
            expected[part] += [(r["key"], r["value"]) for r in recs]
    wal_before = count_objects(b, "wal")
    assert wal_before >= 20, wal_before
    reference = {part: fetch_all_raw(b.port, topic, part, 0, 120) for part in (0, 1)}
    for part in (0, 1):
        assert len(kproto.batch_headers(reference[part])) >= 40

    # Readers go on while compaction and collection run; each read must be identical.
    stop = threading.Event()
    mismatches, reads = [], [0]

    def reader():
        while not stop.is_set():
            for part in (0, 1):
                try:
                    got = fetch_all_raw(b.port, topic, part, 0, 120)
                except Exception as e:  # noqa: BLE001 - reported below
                    mismatches.append("partition %d: %r" % (part, e))
                    continue
                if got != reference[part]:
                    mismatches.append("partition %d: %d bytes differ from the reference" % (part, len(got)))
                reads[0] += 1

    t = threading.Thread(target=reader)
    t.start()
    try:
        wait_until(lambda: count_objects(b, "stream") >= 2 and count_objects(b, "wal") == 0, timeout=60,
                   what="compaction into stream objects and collection of the WAL objects")
    finally:
        stop.set()
        t.join(timeout=60)
    assert not mismatches, mismatches[:5]
    assert reads[0] >= 2
    for part in (0, 1):
        assert fetch_all_raw(b.port, topic, part, 0, 120) == reference[part]
        msgs = consume_all(b.bootstrap, topic, partition=part)
        assert [(m.key(), m.value()) for m in msgs] == expected[part]
        assert [h for m in msgs for h in m.headers()] == [("h", b"%d" % j) for _ in range(40) for j in range(3)]
        assert [o for o, _k, _v, _h in as_tuples(msgs)] == list(range(120))

    # An object written but never committed (a crash between put and commit) is collected;
    # what committed ranges point at stays.
    orphan = os.path.join(b.data_dir, "objects", "wal", "0", "99999999999999999999")
    os.makedirs(os.path.dirname(orphan), exist_ok=True)
    with open(orphan, "wb") as f:
        f.write(b"never committed")
    wait_until(lambda: not os.path.exists(orphan), timeout=30, what="the orphan to be collected")
    streams = count_objects(b, "stream")
    b.restart()
    assert count_objects(b, "stream") == streams
    for part in (0, 1):
        assert fetch_all_raw(b.port, topic, part, 0, 120) == reference[part]
