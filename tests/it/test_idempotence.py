"""The idempotent producer: InitProducerId at its lowest and highest versions; a retried
batch (sent twice by hand with kproto, with a producer id from a raw InitProducerId) is
answered with the first one's offset and stored once, also after a restart and after a
kill -9; a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch is fenced; and
real idempotent producers (confluent-kafka across a broker kill -9, kafkajs,
@platformatic/kafka) deliver every record exactly once, in order."""

import threading

from confluent_kafka import Producer

import kproto
from clients import consume_all
from conftest import create_topic, wait_until
from test_kafkajs import run_js

API_INIT_PRODUCER_ID = 22
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
UNKNOWN_PRODUCER_ID = 59


def init_producer_id(conn, version, transactional_id=None, producer_id=-1, producer_epoch=-1):
    flexible = version >= 2
    if flexible:
        body = kproto.compact_string(transactional_id) + kproto.i32(60000)
        if version >= 3:
            body += kproto.i64(producer_id) + kproto.i16(producer_epoch)
        body += kproto.uvarint(0)
    else:
        body = kproto.string(transactional_id) + kproto.i32(60000)
    _, r = conn.request(API_INIT_PRODUCER_ID, version, body, flexible=flexible)
    return dict(throttle_ms=r.i32(), error=r.i16(), producer_id=r.i64(), epoch=r.i16())


def batch(values, producer_id, epoch, seq):
    return kproto.record_batch([(None, v, None) for v in values], producer_id=producer_id,
                               producer_epoch=epoch, base_sequence=seq)


def produce(port, topic, records, partition=0):
    with kproto.Conn(port) as c:
        return kproto.produce(c, topic, partition, records)


def stored_values(port, topic, partition=0):
    with kproto.Conn(port) as c:
        res = kproto.fetch(c, topic, partition, 0)
        assert res["error"] == 0
        return [(r["offset"], r["value"]) for r in kproto.parse_record_batches(res["records"])]


def new_producer(port, version=4):
    with kproto.Conn(port) as c:
        r = init_producer_id(c, version)
    assert r["error"] == 0 and r["producer_id"] >= 0 and r["epoch"] == 0, r
    return r["producer_id"]


def test_init_producer_id_versions(broker):
    with kproto.Conn(broker.port) as c:
        ids = []
        for v in range(5):
            r = init_producer_id(c, v)
            assert r["error"] == 0 and r["epoch"] == 0, (v, r)
            ids.append(r["producer_id"])
        assert len(set(ids)) == 5 and ids == sorted(ids)
        # v3+ without a transactional id: the id and epoch passed are not bumped; as in
        # Kafka, the producer gets a new id with epoch 0 (nobody can take over an id)
        for v in (3, 4):
            r = init_producer_id(c, v, producer_id=ids[-1], producer_epoch=4)
            assert r["error"] == 0 and r["epoch"] == 0 and r["producer_id"] > ids[-1], (v, r)
            ids.append(r["producer_id"])
        # transactions are not supported yet: a transactional id is refused, clearly
        for v in (0, 4):
            r = init_producer_id(c, v, transactional_id="tx-1")
            assert r["error"] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED and r["producer_id"] == -1
    assert "transactions are not supported yet" in broker.log_text()


def test_duplicate_retry_answered_with_original_offset(fresh_broker, topic):
    b = fresh_broker
    create_topic(b.bootstrap, topic)
    pid = new_producer(b.port, version=0)
    first = batch([b"a0", b"a1", b"a2"], pid, 0, 0)
    second = batch([b"b0", b"b1"], pid, 0, 3)
    assert produce(b.port, topic, first)["base_offset"] == 0
    assert produce(b.port, topic, second)["base_offset"] == 3
    # the retries: answered with success and the original offsets, not written again
    for rec, off in ((first, 0), (second, 3)):
        r = produce(b.port, topic, rec)
        assert (r["error"], r["base_offset"]) == (0, off)
    want = [(0, b"a0"), (1, b"a1"), (2, b"a2"), (3, b"b0"), (4, b"b1")]
    assert stored_values(b.port, topic) == want

    # the same after a clean restart and after a crash: the state was committed with the data
    b.restart()
    r = produce(b.port, topic, second)
    assert (r["error"], r["base_offset"]) == (0, 3)
    third = batch([b"c0"], pid, 0, 5)
    assert produce(b.port, topic, third)["base_offset"] == 5
    b.kill9()
    b.start()
    for rec, off in ((second, 3), (third, 5)):
        r = produce(b.port, topic, rec)
        assert (r["error"], r["base_offset"]) == (0, off)
    assert stored_values(b.port, topic) == want + [(5, b"c0")]


def test_duplicate_sent_back_to_back_is_stored_once(broker, topic):
    """A retry that reaches the broker before its original is committed (both in the same
    group commit, pipelined on one connection) gets the same offset."""
    create_topic(broker.bootstrap, topic)
    pid = new_producer(broker.port)
    rec = batch([b"x"], pid, 0, 0)
    with kproto.Conn(broker.port) as c:
        body = kproto.produce_body(topic, 0, rec)
        c.send_raw(kproto.frame(kproto.request_header(kproto.API_PRODUCE, 3, 1) + body) +
                   kproto.frame(kproto.request_header(kproto.API_PRODUCE, 3, 2) + body))
        answers = []
        for _ in range(2):
            r = kproto.Reader(c.recv_frame())
            r.i32()
            answers.append(kproto.parse_produce(r)[topic][0])
    assert [(a["error"], a["base_offset"]) for a in answers] == [(0, 0), (0, 0)]
    assert stored_values(broker.port, topic) == [(0, b"x")]


def test_sequence_gap_is_out_of_order(broker, topic):
    create_topic(broker.bootstrap, topic)
    pid = new_producer(broker.port)
    assert produce(broker.port, topic, batch([b"0", b"1"], pid, 0, 0))["error"] == 0
    r = produce(broker.port, topic, batch([b"5"], pid, 0, 5))
    assert (r["error"], r["base_offset"]) == (OUT_OF_ORDER_SEQUENCE_NUMBER, -1)
    # a producer the partition never saw must start at sequence 0
    other = new_producer(broker.port)
    assert produce(broker.port, topic, batch([b"z"], other, 0, 9))["error"] == UNKNOWN_PRODUCER_ID
    # the expected sequence still works; nothing refused was stored
    assert produce(broker.port, topic, batch([b"2"], pid, 0, 2))["base_offset"] == 2
    assert [v for _o, v in stored_values(broker.port, topic)] == [b"0", b"1", b"2"]


def test_old_epoch_is_fenced(broker, topic):
    create_topic(broker.bootstrap, topic)
    pid = new_producer(broker.port)
    assert produce(broker.port, topic, batch([b"e0"], pid, 0, 0))["error"] == 0
    # the producer moves on to epoch 1 (starting its sequence over) ...
    assert produce(broker.port, topic, batch([b"e1"], pid, 1, 0))["base_offset"] == 1
    # the zombie with epoch 0 continues its sequence: fenced
    r = produce(broker.port, topic, batch([b"zombie"], pid, 0, 1))
    assert (r["error"], r["base_offset"]) == (INVALID_PRODUCER_EPOCH, -1)
    assert [v for _o, v in stored_values(broker.port, topic)] == [b"e0", b"e1"]


def test_confluent_idempotent_producer_across_kill9(fresh_broker, topic):
    """librdkafka's idempotent producer sends numbered records to two partitions while
    the broker is killed with SIGKILL and restarted; it retries what was in flight. Every
    record is acknowledged and stored exactly once, in order, at its acknowledged offset."""
    b = fresh_broker
    create_topic(b.bootstrap, topic, partitions=2)
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "linger.ms": 2,
                  "batch.num.messages": 20, "message.timeout.ms": 120000,
                  "socket.timeout.ms": 10000, "retry.backoff.ms": 100,
                  "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
    acked = {0: {}, 1: {}}
    errors = []
    lock = threading.Lock()

    def on_delivery(err, msg):
        with lock:
            if err is not None:
                errors.append(err)
            else:
                acked[msg.partition()][int(msg.value())] = msg.offset()

    n = 6000
    for i in range(n):
        while True:
            try:
                p.produce(topic, value=str(i).encode(), partition=i % 2, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if i == n // 2:
            # some acknowledged, more in flight: crash now
            wait_until(lambda: p.poll(0.01) is not None and len(acked[0]) + len(acked[1]) > 200,
                       timeout=30, what="first acknowledgements")
            with lock:
                at_kill = len(acked[0]) + len(acked[1])
            b.kill9()
            assert at_kill <= i, "nothing was in flight when the broker was killed"
            b.start()
    assert p.flush(120) == 0, "records still undelivered"
    assert not errors, "delivery errors: %r" % errors[:5]
    for part in (0, 1):
        expected = [i for i in range(n) if i % 2 == part]
        msgs = consume_all(b.bootstrap, topic, part, expect=len(expected), timeout=60)
        values = [int(m.value()) for m in msgs]
        assert len(values) == len(set(values)), "duplicates in partition %d" % part
        assert values == expected, "partition %d: gaps or reordering" % part
        assert [m.offset() for m in msgs] == list(range(len(expected)))
        assert all(acked[part][v] == o for o, v in enumerate(values)), \
            "acknowledged offsets differ from the stored ones"


def test_kafkajs_idempotent_producer(broker, topic):
    create_topic(broker.bootstrap, topic)
    res = run_js("kafkajs_client.mjs", "idempotent", broker.bootstrap, topic)
    assert all(e == 0 for e in res["errorCodes"])
    assert res["baseOffsets"] == [i * 50 for i in range(len(res["baseOffsets"]))]
    msgs = consume_all(broker.bootstrap, topic, 0, expect=res["count"])
    assert [m.value().decode() for m in msgs] == ["v-%d" % i for i in range(res["count"])]


def test_platformatic_default_idempotent_producer(broker, topic):
    create_topic(broker.bootstrap, topic)
    res = run_js("platformatic_client.mjs", "idempotent", broker.bootstrap, topic)
    assert res["offsets"] == [i * 50 for i in range(len(res["offsets"]))]
    msgs = consume_all(broker.bootstrap, topic, 0, expect=res["count"])
    assert [m.value().decode() for m in msgs] == ["v-%d" % i for i in range(res["count"])]
