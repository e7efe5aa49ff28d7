"""Crash durability: a producer (acks=all, and again acks=1) writes numbered records while the broker is
killed with SIGKILL and restarted on the same data dir several times. Every record the
broker acknowledged must be readable afterwards, exactly once, at the offset it was
acknowledged with, identical in key, value, headers and timestamp, in acknowledgement
order. Records that were never acknowledged may be there at most once."""

import random
import threading
import time

import pytest

from clients import consume_all, producer
from conftest import create_topic, wait_until

SEED = int(time.time())


@pytest.mark.parametrize("acks", ["all", "1"])
def test_kill9_keeps_every_acknowledged_record(fresh_broker, topic, acks):
    rnd = random.Random(SEED)
    b = fresh_broker
    create_topic(b.bootstrap, topic)
    base_ts = int(time.time() * 1000) - 10 ** 6

    acked = []        # (n, offset) in the order the delivery reports came
    failed = []       # n of records whose delivery failed
    lock = threading.Lock()
    stop = threading.Event()
    produced = [0]
    errors = []

    def record(n):
        return dict(key=b"key-%08d" % n, value=b"rec-%08d-%s" % (n, b"p" * (n % 97)),
                    headers=[("n", b"%d" % n), ("crash", b"test")], timestamp=base_ts + n)

    def on_delivery_of(n):
        # delivery reports carry no headers: the closure knows which record it was
        def on_delivery(err, msg):
            with lock:
                if err is None:
                    acked.append((n, msg.offset()))
                else:
                    failed.append(n)
        return on_delivery

    def produce_loop():
        try:
            p = producer(b.bootstrap, acks=acks, **{
                "message.send.max.retries": 0,   # each record sent at most once
                "message.timeout.ms": 8000,
                "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 300,
                "linger.ms": 2, "socket.timeout.ms": 5000})
            n = 0
            while not stop.is_set():
                if len(p) > 3000:
                    p.poll(0.05)
                    continue
                r = record(n)
                try:
                    p.produce(topic, key=r["key"], value=r["value"], headers=r["headers"],
                              timestamp=r["timestamp"], partition=0, on_delivery=on_delivery_of(n))
                except BufferError:
                    p.poll(0.05)
                    continue
                n += 1
                produced[0] = n
                p.poll(0)
            left = p.flush(20)
            if left:
                errors.append("%d records never got a delivery report" % left)
        except Exception as e:  # surfaced in the main thread
            errors.append(repr(e))

    t = threading.Thread(target=produce_loop, daemon=True)
    t.start()
    started = time.monotonic()
    kills = rnd.randint(3, 5)
    try:
        for k in range(kills):
            # let some records through, then kill at a random moment
            with lock:
                before = len(acked)
            wait_until(lambda: len(acked) >= before + 200, timeout=20,
                       what="200 more acknowledged records before kill %d (have %d)"
                       % (k + 1, len(acked)))
            time.sleep(rnd.uniform(0.0, 0.4))
            b.kill9()
            b.start()
        with lock:
            before = len(acked)
        wait_until(lambda: len(acked) >= before + 200, timeout=20,
                   what="200 acknowledged records after the last restart")
    finally:
        stop.set()
        t.join(40)
    assert not t.is_alive(), "producer thread did not finish"
    assert not errors, errors
    assert time.monotonic() - started < 60, "the crash loop took too long"

    with lock:
        acked_list = list(acked)
        failed_set = set(failed)
    n_total = produced[0]
    assert len(acked_list) + len(failed_set) == n_total, \
        "delivery reports: %d acked + %d failed != %d produced" % (
            len(acked_list), len(failed_set), n_total)
    ack_offsets = [o for _n, o in acked_list]
    assert all(a < b_ for a, b_ in zip(ack_offsets, ack_offsets[1:])), \
        "acknowledged offsets not strictly increasing"

    msgs = consume_all(b.bootstrap, topic, 0, expect=len(acked_list), timeout=60)
    offsets = [m.offset() for m in msgs]
    assert all(a < b_ for a, b_ in zip(offsets, offsets[1:])), "consumed offsets not increasing"
    seen = {}
    for m in msgs:
        hdrs = m.headers() or []
        assert hdrs and hdrs[0][0] == "n", "record at offset %d has headers %r" % (m.offset(), hdrs)
        n = int(hdrs[0][1])
        assert n not in seen, "record %d stored twice (offsets %d and %d)" % (
            n, seen[n].offset(), m.offset())
        seen[n] = m
        r = record(n)
        assert (m.key(), m.value(), hdrs, m.timestamp()[1]) == \
            (r["key"], r["value"], r["headers"], r["timestamp"]), "record %d differs" % n
        assert n < n_total, "record %d was never produced" % n

    lost = [(n, o) for n, o in acked_list if n not in seen]
    assert not lost, "%d acknowledged records lost after %d kill -9s, first: #%d (acked at " \
        "offset %d); seed %d" % (len(lost), kills, lost[0][0], lost[0][1], SEED)
    moved = [(n, o, seen[n].offset()) for n, o in acked_list if seen[n].offset() != o]
    assert not moved, "%d acknowledged records are not at their acknowledged offset, first: " \
        "#%d acked at %d, stored at %d" % (len(moved), *moved[0])
    order = [seen[n].offset() for n, _o in acked_list]
    assert order == sorted(order), "acknowledged records stored out of acknowledgement order"
    b.stop()
