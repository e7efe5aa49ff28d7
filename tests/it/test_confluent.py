"""confluent-kafka-python (librdkafka 2.0.2) against Weir: the admin API, producing with
every acks setting and codec, reading back byte for byte with assign(), offsets by
timestamp, size limits, LogAppendTime topics and offset-out-of-range resets."""

import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME,
                             TIMESTAMP_LOG_APPEND_TIME, KafkaError, KafkaException,
                             TopicPartition)
from confluent_kafka.admin import (ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic)

import kproto
from clients import (as_tuples, assert_delivered, consume_all, consumer,
                     produce_all, producer)
from conftest import (admin, assert_stored_codec, client_works, create_topic, start_broker,
                      wait_until)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """This module's broker: auto-creation off, so a deleted topic stays deleted."""
    b = start_broker(tmp_path_factory.mktemp("weir"),
                     env={"WEIR_AUTO_CREATE_TOPICS_ENABLE": "false"})
    yield b
    b.stop()


def records(n, tag="r", with_ts=True, base_ts=None):
    base_ts = base_ts or (int(time.time() * 1000) - 10 * n)
    out = []
    for i in range(n):
        out.append(dict(key=b"key-%d" % i,
                        value=b"%s-value-%08d-" % (tag.encode(), i) + bytes([i % 256]) * (i % 53),
                        headers=[("idx", b"%d" % i), ("tag", tag.encode()), ("bin", b"\x00\xff")],
                        timestamp=base_ts + i if with_ts else None))
    return out


def assert_same(msgs, recs, first_offset=0, check_ts=True):
    assert len(msgs) == len(recs), "read %d records, produced %d" % (len(msgs), len(recs))
    for i, (m, r) in enumerate(zip(msgs, recs)):
        assert m.offset() == first_offset + i, "record %d at offset %d" % (i, m.offset())
        assert m.key() == r["key"], "record %d key" % i
        assert m.value() == r["value"], "record %d value" % i
        assert (m.headers() or []) == r["headers"], "record %d headers" % i
        if check_ts and r.get("timestamp") is not None:
            assert m.timestamp() == (TIMESTAMP_CREATE_TIME, r["timestamp"]), "record %d ts" % i


def topic_names(bootstrap):
    return set(admin(bootstrap).list_topics(timeout=10).topics)


# ---------------------------------------------------------------- admin

def test_create_topic_with_configs_and_describe(broker, topic):
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                   config={"retention.ms": "3600000",
                                           "cleanup.policy": "delete"})],
                         operation_timeout=20)
    fs[topic].result(timeout=20)
    wait_until(lambda: topic in topic_names(broker.bootstrap), what="topic listed")
    md = a.list_topics(topic, timeout=10).topics[topic]
    assert md.error is None
    assert sorted(md.partitions) == [0, 1]

    res = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    entries = list(res.values())[0].result(timeout=20)
    assert entries["retention.ms"].value == "3600000"
    assert ConfigSource(entries["retention.ms"].source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not entries["retention.ms"].is_default
    assert entries["cleanup.policy"].value == "delete"
    defaults = [e for e in entries.values() if e.name not in ("retention.ms", "cleanup.policy")]
    assert defaults, "describe_configs lists only the configs set at creation: %s" % sorted(entries)
    for e in defaults:
        assert ConfigSource(e.source) != ConfigSource.DYNAMIC_TOPIC_CONFIG, e
    assert any(e.is_default or ConfigSource(e.source) in (ConfigSource.DEFAULT_CONFIG,
                                                          ConfigSource.STATIC_BROKER_CONFIG)
               for e in defaults), "no default-sourced entry among %s" % sorted(entries)
    # a key Kafka always reports for a topic
    assert "max.message.bytes" in entries, sorted(entries)
    int(entries["max.message.bytes"].value)


def test_create_topic_twice_fails(broker, topic):
    create_topic(broker.bootstrap, topic)
    a = admin(broker.bootstrap)  # kept alive until the future resolves
    fs = a.create_topics([NewTopic(topic, 1, 1)], operation_timeout=20)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS


def test_create_topic_validate_only(broker, topic):
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)],
                         validate_only=True, operation_timeout=20)
    assert fs[topic].result(timeout=20) is None
    assert topic not in topic_names(broker.bootstrap)
    with kproto.Conn(broker.port) as c:  # no topic, even a moment later
        md = kproto.metadata(c, [topic])
        assert md["topics"][topic]["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION
    # an invalid request is rejected even with validate_only
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                   config={"retention.ms": "not-a-number"})],
                         validate_only=True, operation_timeout=20)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.INVALID_CONFIG, ei.value
    # and without validate_only too, creating nothing
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                   config={"no.such.topic.config": "1"})],
                         operation_timeout=20)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.INVALID_CONFIG, ei.value
    assert topic not in topic_names(broker.bootstrap)
    # and the name is still free for real
    create_topic(broker.bootstrap, topic, partitions=4)


def test_describe_broker_configs(broker_factory):
    b = broker_factory({"WEIR_NUM_PARTITIONS": "3"})
    a = admin(b.bootstrap)
    broker_id = list(a.list_topics(timeout=10).brokers)[0]
    res = a.describe_configs([ConfigResource(ConfigResource.Type.BROKER, str(broker_id))])
    entries = list(res.values())[0].result(timeout=20)
    assert entries["num.partitions"].value == "3"
    assert not entries["num.partitions"].is_default
    assert ConfigSource(entries["num.partitions"].source) == ConfigSource.STATIC_BROKER_CONFIG
    e = entries["auto.create.topics.enable"]
    assert e.value == "true"
    assert e.is_default and ConfigSource(e.source) == ConfigSource.DEFAULT_CONFIG
    # a topic created without a partition count takes num.partitions
    name = "np-default-topic"
    fs = a.create_topics([NewTopic(name, num_partitions=-1, replication_factor=-1)],
                         operation_timeout=20)
    fs[name].result(timeout=20)
    wait_until(lambda: len(a.list_topics(name, timeout=5).topics[name].partitions) == 3,
               what="3 partitions from num.partitions")


def test_create_partitions(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    a = admin(broker.bootstrap)
    fs = a.create_partitions([NewPartitions(topic, 4)], operation_timeout=20)
    fs[topic].result(timeout=20)
    wait_until(lambda: len(a.list_topics(topic, timeout=5).topics[topic].partitions) == 4,
               what="4 partitions")
    # the new partitions take writes and give them back
    p = producer(broker.bootstrap)
    for part in range(4):
        recs = records(5, tag="p%d" % part)
        assert_delivered(produce_all(p, topic, recs, partition=part))
        assert_same(consume_all(broker.bootstrap, topic, part, expect=5), recs)
    # shrinking is refused
    fs = a.create_partitions([NewPartitions(topic, 2)], operation_timeout=20)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.INVALID_PARTITIONS


def test_delete_topic(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    p = producer(broker.bootstrap)
    assert_delivered(produce_all(p, topic, records(3)))
    a = admin(broker.bootstrap)
    fs = a.delete_topics([topic], operation_timeout=20)
    fs[topic].result(timeout=20)
    wait_until(lambda: topic not in topic_names(broker.bootstrap), what="topic gone from metadata")
    # the broker says so precisely
    with kproto.Conn(broker.port) as c:
        assert kproto.metadata(c, [topic])["topics"][topic]["error"] == \
            kproto.UNKNOWN_TOPIC_OR_PARTITION
        res = kproto.produce(c, topic, 0, kproto.record_batch([(b"k", b"v", [])]))
        assert res["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION
    # and a fresh producer's delivery fails
    p2 = producer(broker.bootstrap, **{"message.timeout.ms": 15000,
                                       "topic.metadata.propagation.max.ms": 1000})
    reports = produce_all(p2, topic, records(1), flush_timeout=30)
    err = reports[0][0]
    assert err is not None, "produce to a deleted topic was acknowledged"
    assert err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC), err
    # deleting again: unknown topic
    fs = a.delete_topics([topic], operation_timeout=20)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    # the name can be reused and starts empty
    create_topic(broker.bootstrap, topic, partitions=1)
    recs = records(2, tag="again")
    assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))
    assert_same(consume_all(broker.bootstrap, topic, 0, expect=2), recs)


# ---------------------------------------------------------------- produce / consume

@pytest.mark.parametrize("acks", ["all", "1", "0"])
def test_produce_acks(broker, topic, acks):
    create_topic(broker.bootstrap, topic)
    recs = records(300, tag="acks" + acks)
    reports = produce_all(producer(broker.bootstrap, acks=acks), topic, recs)
    assert_delivered(reports)
    if acks != "0":
        assert [o for _e, o, _t in reports] == list(range(300))
    assert_same(consume_all(broker.bootstrap, topic, expect=300), recs)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_produce_compressed(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    recs = records(2000, tag=codec)
    reports = produce_all(producer(broker.bootstrap, **{"compression.type": codec,
                                                        "linger.ms": 50}), topic, recs)
    assert_delivered(reports)
    assert [o for _e, o, _t in reports] == list(range(2000))
    assert_same(consume_all(broker.bootstrap, topic, expect=2000), recs)
    # a consumer starting in the middle of a compressed batch gets exactly from there
    assert_same(consume_all(broker.bootstrap, topic, offset=1234, expect=766), recs[1234:],
                first_offset=1234)
    # the batches on the broker are compressed with the producer's codec
    assert_stored_codec(broker, topic, 0, codec)


def test_null_key_null_value_empty_value(broker, topic):
    create_topic(broker.bootstrap, topic)
    recs = [dict(key=None, value=b"v", headers=[]), dict(key=b"k", value=None, headers=[]),
            dict(key=b"", value=b"", headers=[("empty", b"")])]
    assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))
    msgs = consume_all(broker.bootstrap, topic, expect=3)
    assert [(m.key(), m.value(), m.headers() or []) for m in msgs] == \
        [(None, b"v", []), (b"k", None, []), (b"", b"", [("empty", b"")])]


def test_100k_records_byte_for_byte(broker, topic):
    n = 100_000
    create_topic(broker.bootstrap, topic)
    base_ts = int(time.time() * 1000) - n
    recs = [dict(key=b"k%06d" % i, value=b"value-%06d-%s" % (i, b"x" * (i % 100)),
                 headers=[("i", b"%d" % i)], timestamp=base_ts + i) for i in range(n)]
    p = producer(broker.bootstrap, acks="all", **{"linger.ms": 20,
                                                  "batch.num.messages": 10000,
                                                  "queue.buffering.max.messages": 200000})
    reports = produce_all(p, topic, recs, flush_timeout=120)
    assert_delivered(reports)
    assert [o for _e, o, _t in reports] == list(range(n))
    msgs = consume_all(broker.bootstrap, topic, expect=n, timeout=120)
    got = [(m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1]) for m in msgs]
    want = [(i, r["key"], r["value"], r["headers"], r["timestamp"]) for i, r in enumerate(recs)]
    assert len(got) == n
    bad = [i for i in range(n) if got[i] != want[i]]
    assert not bad, "%d records differ, first #%d: got %r want %r" % (
        len(bad), bad[0], got[bad[0]], want[bad[0]])
    low, high = consumer(broker.bootstrap).get_watermark_offsets(
        TopicPartition(topic, 0), timeout=10)
    assert (low, high) == (0, n)


def test_watermarks_and_offsets_for_times(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 0)
        base_ts = 1_600_000_000_000
        recs = [dict(key=b"k%d" % i, value=b"v%d" % i, headers=[], timestamp=base_ts + 1000 * i)
                for i in range(10)]
        assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 10)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10) == (0, 0)
        # cached=True answers from the last fetch; not used here
        queries = [TopicPartition(topic, 0, base_ts - 1),        # before all: offset 0
                   TopicPartition(topic, 0, base_ts + 3000),     # exact: offset 3
                   TopicPartition(topic, 0, base_ts + 3500),     # between: next, offset 4
                   TopicPartition(topic, 0, base_ts + 9000),     # last: offset 9
                   TopicPartition(topic, 0, base_ts + 99000)]    # after all: -1 (end)
        got = []
        for q in queries:
            r = c.offsets_for_times([q], timeout=10)[0]
            assert r.error is None, r
            got.append(r.offset)
        assert got == [0, 3, 4, 9, -1]
    finally:
        c.close()


def test_message_too_large_rejected(broker_factory, topic):
    b = broker_factory({"WEIR_MESSAGE_MAX_BYTES": "100000"})
    create_topic(b.bootstrap, topic)
    # the client's own limit is higher, so the broker must be the one saying no
    p = producer(b.bootstrap, **{"message.max.bytes": 2000000})
    big = [dict(key=b"big", value=b"x" * 200000, headers=[])]
    reports = produce_all(p, topic, big)
    err = reports[0][0]
    assert err is not None, "a 200 kB record was accepted with message.max.bytes=100000"
    assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    # small ones still pass, and nothing of the big one was stored
    small = records(3)
    assert_delivered(produce_all(p, topic, small))
    assert_same(consume_all(b.bootstrap, topic, expect=3), small)


def test_log_append_time_topic(broker, topic):
    create_topic(broker.bootstrap, topic, config={"message.timestamp.type": "LogAppendTime"})
    old = 1_000_000_000_000  # 2001: the broker must replace it
    recs = [dict(key=b"k%d" % i, value=b"v%d" % i, headers=[], timestamp=old + i)
            for i in range(20)]
    before = int(time.time() * 1000)
    reports = produce_all(producer(broker.bootstrap, acks="all"), topic, recs)
    after = int(time.time() * 1000)
    assert_delivered(reports)
    for _e, _o, (tstype, ts) in reports:
        assert tstype == TIMESTAMP_LOG_APPEND_TIME, "delivery report timestamp type %d" % tstype
        assert before - 1000 <= ts <= after + 1000, "log append time %d not in [%d, %d]" % (
            ts, before, after)
    msgs = consume_all(broker.bootstrap, topic, expect=20)
    for m in msgs:
        tstype, ts = m.timestamp()
        assert tstype == TIMESTAMP_LOG_APPEND_TIME, "consumed timestamp type %d" % tstype
        assert before - 1000 <= ts <= after + 1000, "consumed timestamp %d" % ts
    assert [m.value() for m in msgs] == [r["value"] for r in recs]


def test_offset_out_of_range_resets(broker, topic):
    create_topic(broker.bootstrap, topic)
    recs = records(10)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))
    # past the end, reset to earliest: everything from 0
    msgs = consume_all(broker.bootstrap, topic, offset=1000, expect=10,
                       **{"auto.offset.reset": "earliest"})
    assert_same(msgs, recs)
    # past the end, reset policy error: the user sees the out-of-range error
    msgs, errors = _consume_expect_error(broker, topic)
    assert msgs == [] and errors, "no offset-reset error reported"
    assert "out of range" in str(errors[0]).lower() or \
        "OFFSET_OUT_OF_RANGE" in str(errors[0]), errors[0]
    # past the end, reset to latest: nothing old, then the next record at offset 10
    c = consumer(broker.bootstrap, **{"auto.offset.reset": "latest"})
    try:
        c.assign([TopicPartition(topic, 0, 1000)])
        wait_until(lambda: _saw_eof(c), timeout=20, what="EOF after reset to latest")
        extra = dict(key=b"late", value=b"late-value", headers=[])
        assert_delivered(produce_all(producer(broker.bootstrap), topic, [extra]))
        got = []

        def got_late():
            for m in c.consume(num_messages=10, timeout=0.2):
                if m.error() is None:
                    got.append(m)
            return got
        wait_until(got_late, timeout=20, what="the record produced after the reset")
        assert [(m.offset(), m.value()) for m in got] == [(10, b"late-value")]
    finally:
        c.close()


def _saw_eof(c):
    for m in c.consume(num_messages=100, timeout=0.2):
        if m.error() is None:
            pytest.fail("reset to latest delivered old record at offset %d" % m.offset())
        if m.error().code() == KafkaError._PARTITION_EOF:
            return True
    return False


def _consume_expect_error(broker, topic):
    c = consumer(broker.bootstrap, **{"auto.offset.reset": "error",
                                      "enable.partition.eof": False})
    msgs, errors = [], []
    try:
        c.assign([TopicPartition(topic, 0, 1000)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not errors:
            for m in c.consume(num_messages=100, timeout=0.2):
                if m.error() is None:
                    msgs.append(m)
                else:
                    errors.append(m.error())
    finally:
        c.close()
    return msgs, errors


def test_fetch_out_of_range_raw(broker, topic):
    """What the librdkafka resets above are driven by: the broker's own answer."""
    create_topic(broker.bootstrap, topic)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, records(5)))
    with kproto.Conn(broker.port) as c:
        assert kproto.fetch(c, topic, 0, 1000)["error"] == kproto.OFFSET_OUT_OF_RANGE
        assert kproto.fetch(c, topic, 0, 6)["error"] == kproto.OFFSET_OUT_OF_RANGE
        at_end = kproto.fetch(c, topic, 0, 5)
        assert at_end["error"] == 0 and at_end["high_watermark"] == 5
        assert kproto.fetch(c, topic, 0, -3)["error"] == kproto.OFFSET_OUT_OF_RANGE
    client_works(broker)


def test_consume_from_beginning_constant(broker, topic):
    create_topic(broker.bootstrap, topic)
    recs = records(7)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))
    assert_same(consume_all(broker.bootstrap, topic, offset=OFFSET_BEGINNING, expect=7), recs)
    assert_same(consume_all(broker.bootstrap, topic, offset=4, expect=3), recs[4:], first_offset=4)


def test_keyed_records_over_many_partitions(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=8)
    p = producer(broker.bootstrap, acks="all")
    reports = {}
    keys = [b"user-%d" % (i % 50) for i in range(2000)]

    def on_delivery_of(i):
        def cb(err, msg):
            reports[i] = (err, msg.partition(), msg.offset())
        return cb

    for i, k in enumerate(keys):
        p.produce(topic, key=k, value=b"event-%d" % i, on_delivery=on_delivery_of(i))
        p.poll(0)
    assert p.flush(60) == 0
    assert all(r[0] is None for r in reports.values())
    by_part = {}
    for i in range(len(keys)):
        _e, part, off = reports[i]
        by_part.setdefault(part, []).append((off, keys[i], b"event-%d" % i))
    assert len(by_part) > 1, "all keys went to one partition"
    key_part = {}
    for part, want in by_part.items():
        msgs = consume_all(broker.bootstrap, topic, part, expect=len(want))
        assert [(m.offset(), m.key(), m.value()) for m in msgs] == want
        assert [o for o, _k, _v in want] == list(range(len(want)))
        for m in msgs:  # one key, one partition
            assert key_part.setdefault(m.key(), part) == part


def test_large_record_round_trip(broker, topic):
    create_topic(broker.bootstrap, topic)
    big = bytes(range(256)) * 3500  # 896000 bytes, under the default message.max.bytes
    recs = [dict(key=b"big-%d" % i, value=big[i:] + b"%d" % i, headers=[("n", b"%d" % i)])
            for i in range(3)]
    assert_delivered(produce_all(producer(broker.bootstrap, linger_ms=0), topic, recs))
    msgs = consume_all(broker.bootstrap, topic, expect=3)
    assert [(m.key(), m.value(), m.headers()) for m in msgs] == \
        [(r["key"], r["value"], r["headers"]) for r in recs]
