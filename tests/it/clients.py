"""Client helpers shared by the test files: a confluent-kafka producer that records what
was acknowledged, and a group-less consumer (assign() with explicit offsets) that reads a
partition to its end."""

import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, Producer,
                             TopicPartition)


def producer(bootstrap, **conf):
    c = {"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 5,
         "message.timeout.ms": 30000, "socket.timeout.ms": 10000}
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(c)


def produce_all(p, topic, records, partition=0, flush_timeout=60):
    """Produces records (dicts with key, value, headers, timestamp) and returns the
    delivery reports in record order as (error, offset, timestamp) tuples; fails when
    not all were reported within flush_timeout."""
    reports = [None] * len(records)

    def cb(i):
        def on_delivery(err, msg):
            reports[i] = (err, msg.offset(), msg.timestamp())
        return on_delivery

    for i, r in enumerate(records):
        kw = {}
        if r.get("timestamp") is not None:
            kw["timestamp"] = r["timestamp"]
        if r.get("headers") is not None:
            kw["headers"] = r["headers"]
        while True:
            try:
                p.produce(topic, value=r.get("value"), key=r.get("key"), partition=partition,
                          on_delivery=cb(i), **kw)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(flush_timeout)
    assert left == 0, "%d messages still undelivered after %ss" % (left, flush_timeout)
    assert None not in reports, "delivery reports missing"
    return reports


def assert_delivered(reports):
    errs = [(i, e) for i, (e, _o, _t) in enumerate(reports) if e is not None]
    assert not errs, "delivery failed for %d records, first: #%d %s" % (
        len(errs), errs[0][0], errs[0][1])


def consumer(bootstrap, **conf):
    c = {"bootstrap.servers": bootstrap,
         # a group id librdkafka insists on; it is never joined nor committed to
         "group.id": "weir-it-never-used", "enable.auto.commit": False,
         "enable.auto.offset.store": False, "enable.partition.eof": True,
         "auto.offset.reset": "error", "socket.timeout.ms": 10000,
         "fetch.wait.max.ms": 100}
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(c)


def consume_all(bootstrap, topic, partition=0, offset=OFFSET_BEGINNING, expect=None,
                timeout=30, allow_errors=(), **conf):
    """Reads topic/partition from offset until the end of the partition (and, when
    expect is given, until at least expect messages came). Returns the messages, plus
    errors whose codes are in allow_errors; any other consumer error fails the test."""
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        msgs = []
        errors = []
        eof = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=10000, timeout=0.2):
                err = m.error()
                if err is None:
                    msgs.append(m)
                elif err.code() == KafkaError._PARTITION_EOF:
                    eof = True
                elif err.code() in allow_errors:
                    errors.append(err)
                else:
                    pytest.fail("consumer error on %s [%d] after %d messages: %s" % (
                        topic, partition, len(msgs), err), pytrace=False)
            if eof and (expect is None or len(msgs) >= expect):
                break
        else:
            pytest.fail("consumed %d messages of %s [%d] in %ss, expected %s (eof seen: %s)"
                        % (len(msgs), topic, partition, timeout, expect, eof), pytrace=False)
        if allow_errors:
            return msgs, errors
        return msgs
    finally:
        c.close()


def as_tuples(msgs):
    return [(m.offset(), m.key(), m.value(), m.headers() or []) for m in msgs]
