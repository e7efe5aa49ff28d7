"""kafka-python 2.0.2 against Weir: it guesses the broker version from the ApiVersions
ranges, then creates and deletes topics, produces with keys, headers and each codec it
can use here, and reads back with a group-less consumer (assign + seek)."""

import time

import pytest

import kafka  # noqa: E402  (Debian: python3-kafka, installed by scripts/deps)
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kafka.codec import has_lz4, has_snappy, has_zstd  # noqa: E402
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError  # noqa: E402

from conftest import assert_stored_codec, wait_until  # noqa: E402


def admin_client(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="weir-it-kp",
                            request_timeout_ms=15000)


def kp_producer(broker, **kw):
    return KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all",
                         request_timeout_ms=15000, **kw)


def kp_consumer(broker):
    return KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                         enable_auto_commit=False, auto_offset_reset="none",
                         request_timeout_ms=15000, fetch_max_wait_ms=100)


def kp_create(broker, name, partitions=1):
    a = admin_client(broker)
    try:
        a.create_topics([NewTopic(name, partitions, 1)], timeout_ms=15000)
    finally:
        a.close()

    def listed():
        c = kp_consumer(broker)
        try:
            parts = c.partitions_for_topic(name)
            return parts is not None and len(parts) == partitions
        finally:
            c.close()
    wait_until(listed, timeout=20, what="topic %s visible to kafka-python" % name)


def read_partition(broker, name, partition, expect, timeout=30):
    c = kp_consumer(broker)
    try:
        tp = TopicPartition(name, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=200).values():
                out.extend(recs)
        assert len(out) == expect, "read %d of %d records" % (len(out), expect)
        # nothing more behind them
        assert c.poll(timeout_ms=300) == {}
        return out
    finally:
        c.close()


def test_broker_version_inferred(broker):
    a = admin_client(broker)
    try:
        version = a.config["api_version"]
    finally:
        a.close()
    # Produce v8 / Fetch v11 advertised: kafka-python takes the broker for 2.3 or newer
    assert version >= (2, 3, 0), version


def test_create_and_delete_topic(broker, topic):
    kp_create(broker, topic, partitions=3)
    a = admin_client(broker)
    try:
        with pytest.raises(TopicAlreadyExistsError):
            a.create_topics([NewTopic(topic, 3, 1)], timeout_ms=15000)
        assert topic in a.list_topics()
        a.delete_topics([topic], timeout_ms=15000)
        wait_until(lambda: topic not in a.list_topics(), timeout=20, what="topic deleted")
        with pytest.raises(UnknownTopicOrPartitionError):
            a.delete_topics([topic], timeout_ms=15000)
    finally:
        a.close()


def codecs():
    out = [None, "gzip"]
    if has_snappy():
        out.append("snappy")
    if has_lz4():
        out.append("lz4")
    if has_zstd():
        out.append("zstd")
    return out


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_and_consume(broker, topic, codec):
    if codec != "none" and codec not in codecs():
        pytest.fail("kafka-python has no %s codec here: python3-%s is missing (run scripts/deps)" % (codec, codec))
    kp_create(broker, topic, partitions=2)
    p = kp_producer(broker, compression_type=None if codec == "none" else codec,
                    linger_ms=20)
    base_ts = int(time.time() * 1000) - 10000
    sent = []
    futures = []
    for i in range(500):
        key = b"key-%d" % i
        value = b"%s-%05d-" % (codec.encode(), i) + b"z" * (i % 61)
        headers = [("i", b"%d" % i), ("codec", codec.encode())]
        futures.append(p.send(topic, key=key, value=value, headers=headers, partition=1,
                              timestamp_ms=base_ts + i))
        sent.append((key, value, headers, base_ts + i))
    p.flush(timeout=30)
    offsets = [f.get(timeout=30).offset for f in futures]
    p.close(timeout=10)
    assert offsets == list(range(500))
    got = read_partition(broker, topic, 1, 500)
    assert [r.offset for r in got] == list(range(500))
    assert [(r.key, r.value, r.headers, r.timestamp) for r in got] == sent
    assert all(r.timestamp_type == 0 for r in got)
    assert_stored_codec(broker, topic, 1, codec, librdkafka=False)
    # partition 0 stayed empty
    c = kp_consumer(broker)
    try:
        tp0 = TopicPartition(topic, 0)
        assert c.end_offsets([tp0]) == {tp0: 0}
    finally:
        c.close()


def test_offsets_api(broker, topic):
    kp_create(broker, topic)
    p = kp_producer(broker)
    base_ts = 1_600_000_000_000
    for i in range(10):
        p.send(topic, value=b"v%d" % i, partition=0, timestamp_ms=base_ts + 1000 * i)
    p.flush(timeout=30)
    p.close(timeout=10)
    c = kp_consumer(broker)
    try:
        tp = TopicPartition(topic, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 10}
        res = c.offsets_for_times({tp: base_ts + 3500})
        assert res[tp] is not None and res[tp].offset == 4
        assert res[tp].timestamp == base_ts + 4000
        res = c.offsets_for_times({tp: base_ts})
        assert res[tp].offset == 0
        res = c.offsets_for_times({tp: base_ts + 10 ** 6})
        assert res[tp] is None
        # seek to an offset from offsets_for_times and read from there
        c.assign([tp])
        c.seek(tp, 7)
        got = []
        wait_until(lambda: got.extend(sum(c.poll(timeout_ms=200).values(), [])) or len(got) >= 3,
                   timeout=20, what="3 records from offset 7")
        assert [(r.offset, r.value) for r in got] == [(7, b"v7"), (8, b"v8"), (9, b"v9")]
    finally:
        c.close()
