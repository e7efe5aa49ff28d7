"""Bad and unusual input on the wire, sent by hand: garbage, truncated, oversized and
negative frames, unknown APIs and versions, corrupt and old-format batches, unknown
topics, out-of-range fetches, absurd array lengths, pipelining and many connections.
The broker must answer with the Kafka error code or close the connection, never crash or
hang, and after every case a fresh normal client must still work."""

import random
import socket
import struct
import threading
import time

import pytest

import kproto
from kproto import Conn, i16, i32, frame, request_header
from conftest import client_works, create_topic, start_broker, wait_until

MAX_REQUEST = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = start_broker(tmp_path_factory.mktemp("weir"),
                     env={"WEIR_AUTO_CREATE_TOPICS_ENABLE": "false",
                          "WEIR_SOCKET_REQUEST_MAX_BYTES": str(MAX_REQUEST)})
    yield b
    b.stop()


@pytest.fixture
def data_topic(broker, topic):
    """A topic holding 5 records written through the raw Produce path."""
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        res = kproto.produce(c, topic, 0, kproto.record_batch(
            [(b"k%d" % i, b"v%d" % i, [("h", b"%d" % i)]) for i in range(5)]))
        assert res["error"] == 0 and res["base_offset"] == 0, res
    return topic


def test_random_bytes(broker):
    rnd = random.Random(1234)
    for _ in range(5):
        with Conn(broker.port) as c:
            c.send_raw(bytes(rnd.getrandbits(8) for _ in range(4096)))
            c.sock.shutdown(socket.SHUT_WR)
            assert c.wait_closed(10), "broker kept a garbage connection open after EOF"
    client_works(broker)


def test_random_bytes_inside_valid_frame(broker):
    """A well-formed frame whose body is random: an error or a close, not a hang."""
    rnd = random.Random(99)
    for n in range(20):
        body = i16(rnd.choice([0, 1, 3, 18, 19])) + i16(rnd.randint(0, 5)) + i32(n) + \
            bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
        with Conn(broker.port) as c:
            c.send_raw(frame(body))
            c.sock.shutdown(socket.SHUT_WR)
            assert c.wait_closed(10), "no answer nor close for a random request body"
    client_works(broker)


def test_truncated_frame_then_close(broker):
    with Conn(broker.port) as c:
        c.send_raw(i32(100) + b"\x00\x12\x00\x00\x00\x00")
    with Conn(broker.port) as c:  # header cut inside the client id
        c.send_raw(i32(50) + i16(18) + i16(0) + i32(7) + i16(40) + b"abc")
    client_works(broker)


def test_oversized_frame_closes_connection(broker):
    with Conn(broker.port) as c:
        c.send_raw(i32(MAX_REQUEST + 1) + request_header(18, 0, 1) + b"\x00" * 100)
        assert c.wait_closed(10), "a frame over socket.request.max.bytes did not close the connection"
    with Conn(broker.port) as c:  # just under the limit, but never sent: broker waits, no crash
        c.send_raw(i32(MAX_REQUEST - 100) + request_header(18, 0, 1))
    client_works(broker)


def test_negative_and_zero_size(broker):
    for size in (-1, -2 ** 31, 0, 3):
        with Conn(broker.port) as c:
            c.send_raw(i32(size) + b"\x00" * 16)
            assert c.wait_closed(10), "frame size %d did not close the connection" % size
    client_works(broker)


def test_unknown_api_key(broker):
    for key in (999, 32767, -1):
        with Conn(broker.port) as c:
            c.send_raw(frame(request_header(key, 0, 77)))
            # Kafka closes; an answer with our correlation id is acceptable too; silence
            # (TimeoutError from recv_frame) is not
            try:
                resp = c.recv_frame()
                assert struct.unpack(">i", resp[:4])[0] == 77
            except ConnectionError:
                pass
    client_works(broker)


def test_unsupported_api_versions_version(broker):
    with Conn(broker.port) as c:
        c.send_raw(frame(request_header(18, 127, 4242, flexible=True) + b"\x00"))
        resp = c.recv_frame()
        r = kproto.Reader(resp)
        assert r.i32() == 4242
        res = kproto.parse_api_versions(r, 0)
        assert res["error"] == kproto.UNSUPPORTED_VERSION
        assert res["apis"].get(18) == (0, 3), res["apis"]
        assert res["apis"].get(0, (None, None))[1] == 9
        # the connection stays usable after it
        assert kproto.api_versions(c, 0)["error"] == 0
    client_works(broker)


def test_api_versions_v3_flexible(broker):
    with Conn(broker.port) as c:
        body = kproto.compact_string("weir-it") + kproto.compact_string("1.0") + b"\x00"
        c.send_raw(frame(request_header(18, 3, 5, flexible=True) + body))
        r = kproto.Reader(c.recv_frame())
        assert r.i32() == 5          # response header v0, even for v3
        assert r.i16() == 0
        n = r.data[r.pos] - 1        # compact array
        r.pos += 1
        apis = {}
        for _ in range(n):
            k, lo, hi = r.i16(), r.i16(), r.i16()
            assert r.data[r.pos] == 0
            r.pos += 1
            apis[k] = (lo, hi)
        assert apis[18] == (0, 3)
        assert apis[0][1] >= 9 and apis[1] == (4, 12) and apis[3][1] == 12


def test_unsupported_version_of_other_api(broker):
    with Conn(broker.port) as c:
        c.send_raw(frame(request_header(kproto.API_METADATA, 99, 8) + i32(-1)))
        try:
            resp = c.recv_frame()
            assert struct.unpack(">i", resp[:4])[0] == 8
        except ConnectionError:
            pass  # closing is what Kafka does
    client_works(broker)


def test_produce_bad_crc(broker, topic):
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        batch = kproto.record_batch([(b"k", b"v", [])], corrupt_crc=True)
        res = kproto.produce(c, topic, 0, batch)
        assert res["error"] == kproto.CORRUPT_MESSAGE, res
        # nothing was stored
        assert kproto.list_offsets(c, topic, 0, -1)["offset"] == 0
        # a good one after it on the same connection
        res = kproto.produce(c, topic, 0, kproto.record_batch([(b"k", b"v", [])]))
        assert res["error"] == 0 and res["base_offset"] == 0
    client_works(broker)


def test_produce_truncated_batch(broker, topic):
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        batch = kproto.record_batch([(b"k", b"v" * 100, [])])
        res = kproto.produce(c, topic, 0, batch[:-30])
        assert res["error"] in (kproto.CORRUPT_MESSAGE, 87), res  # 87 INVALID_RECORD
        assert kproto.list_offsets(c, topic, 0, -1)["offset"] == 0
    client_works(broker)


@pytest.mark.parametrize("version", [2, 3])
def test_produce_magic1(broker, topic, version):
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        res = kproto.produce(c, topic, 0, kproto.legacy_message_set_v1(b"k", b"v"),
                             version=version)
        assert res["error"] == kproto.UNSUPPORTED_FOR_MESSAGE_FORMAT, res
        assert kproto.list_offsets(c, topic, 0, -1)["offset"] == 0
    client_works(broker)


def test_produce_unknown_topic_no_autocreate(broker):
    with Conn(broker.port) as c:
        res = kproto.produce(c, "no-such-topic-xyz", 0, kproto.record_batch([(b"k", b"v", [])]))
        assert res["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, res
        md = kproto.metadata(c, ["no-such-topic-xyz"])
        assert md["topics"]["no-such-topic-xyz"]["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION
    client_works(broker)


def test_produce_unknown_partition(broker, topic):
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        res = kproto.produce(c, topic, 7, kproto.record_batch([(b"k", b"v", [])]))
        assert res["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, res
        res = kproto.fetch(c, topic, 7, 0)
        assert res["error"] == kproto.UNKNOWN_TOPIC_OR_PARTITION, res


def test_fetch_out_of_range(broker, data_topic):
    with Conn(broker.port) as c:
        for off in (-1, -5, 6, 10 ** 12):
            res = kproto.fetch(c, data_topic, 0, off)
            assert res["error"] == kproto.OFFSET_OUT_OF_RANGE, (off, res)
            assert res["high_watermark"] in (5, -1)
        res = kproto.fetch(c, data_topic, 0, 2)
        assert res["error"] == 0 and res["high_watermark"] == 5
        recs = [r for r in kproto.parse_record_batches(res["records"]) if r["offset"] >= 2]
        assert [(r["offset"], r["key"], r["value"], r["headers"]) for r in recs] == \
            [(i, b"k%d" % i, b"v%d" % i, [("h", b"%d" % i)]) for i in range(2, 5)]
    client_works(broker)


def test_list_offsets_raw(broker, data_topic):
    with Conn(broker.port) as c:
        assert kproto.list_offsets(c, data_topic, 0, -2)["offset"] == 0
        assert kproto.list_offsets(c, data_topic, 0, -1)["offset"] == 5


def test_metadata_absurd_array_length(broker):
    with Conn(broker.port) as c:
        c.send_raw(frame(request_header(kproto.API_METADATA, 1, 31) + i32(0x7FFFFFFF)))
        try:
            resp = c.recv_frame()
            assert struct.unpack(">i", resp[:4])[0] == 31
        except ConnectionError:
            pass
    with Conn(broker.port) as c:  # the array length claims more than the frame holds
        c.send_raw(frame(request_header(kproto.API_METADATA, 1, 32) + i32(1000) +
                         kproto.string("a")))
        try:
            c.recv_frame()
        except ConnectionError:
            pass
    with Conn(broker.port) as c:  # a string length past the end
        c.send_raw(frame(request_header(kproto.API_METADATA, 1, 33) + i32(1) + i16(30000) + b"x"))
        try:
            c.recv_frame()
        except ConnectionError:
            pass
    client_works(broker)


def test_produce_absurd_lengths(broker, topic):
    create_topic(broker.bootstrap, topic)
    bodies = [
        kproto.string(None) + i16(-1) + i32(1000) + i32(0x7FFFFFFF),
        kproto.string(None) + i16(-1) + i32(1000) + i32(1) + kproto.string(topic) + i32(1) +
        i32(0) + i32(0x7FFFFFF0) + b"\x00" * 20,
        kproto.string(None) + i16(-1) + i32(1000) + i32(1) + kproto.string(topic) + i32(1) +
        i32(0) + i32(-7),
    ]
    for n, body in enumerate(bodies):
        with Conn(broker.port) as c:
            c.send_raw(frame(request_header(kproto.API_PRODUCE, 3, 60 + n) + body))
            try:
                resp = c.recv_frame()
                assert struct.unpack(">i", resp[:4])[0] == 60 + n
            except ConnectionError:
                pass
    with Conn(broker.port) as c:
        assert kproto.list_offsets(c, topic, 0, -1)["offset"] == 0
    client_works(broker)


def test_pipelined_requests_answered_in_order(broker):
    reqs = b""
    for i in range(50):
        corr = 1000 + i
        if i % 2:
            reqs += frame(request_header(kproto.API_METADATA, 1, corr) + i32(-1))
        else:
            reqs += frame(request_header(kproto.API_API_VERSIONS, 0, corr))
    with Conn(broker.port) as c:
        c.send_raw(reqs)
        for i in range(50):
            r = kproto.Reader(c.recv_frame())
            assert r.i32() == 1000 + i, "response %d out of order" % i
            if i % 2:
                md = kproto.parse_metadata_v1(r)
                assert [b["port"] for b in md["brokers"]] == [broker.port]
            else:
                assert kproto.parse_api_versions(r)["error"] == 0


def test_many_concurrent_connections(broker):
    socks = []
    try:
        for _ in range(200):
            socks.append(Conn(broker.port))
        for i, c in enumerate(socks):
            c.send_raw(frame(request_header(kproto.API_API_VERSIONS, 0, i)))
        for i, c in enumerate(socks):
            r = kproto.Reader(c.recv_frame())
            assert r.i32() == i
            assert kproto.parse_api_versions(r)["error"] == 0
    finally:
        for c in socks:
            c.close()
    client_works(broker)


def test_slow_client_byte_by_byte(broker):
    """A request dribbled in one byte per write is still one request."""
    req = frame(request_header(kproto.API_METADATA, 1, 9) + i32(-1))
    with Conn(broker.port) as c:
        for b in req:
            c.send_raw(bytes([b]))
        r = kproto.Reader(c.recv_frame())
        assert r.i32() == 9
        kproto.parse_metadata_v1(r)


def test_client_disconnects_with_requests_in_flight(broker, topic):
    create_topic(broker.bootstrap, topic)
    batch = kproto.record_batch([(b"k", b"v" * 1000, [])])
    for _ in range(20):
        c = Conn(broker.port)
        c.send_raw(frame(request_header(kproto.API_PRODUCE, 3, 1) +
                         kproto.produce_body(topic, 0, batch)) * 5)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST
    with Conn(broker.port) as c:
        # whatever was appended before the resets is whole records, at most all of them
        end = kproto.list_offsets(c, topic, 0, -1)["offset"]
        assert 0 <= end <= 100
        if end:
            res = kproto.fetch(c, topic, 0, 0, max_bytes=10 << 20)
            recs = kproto.parse_record_batches(res["records"])
            assert [r["offset"] for r in recs] == list(range(end))
            assert all(r["value"] == b"v" * 1000 for r in recs)
    client_works(broker)


def test_acks0_produce_gets_no_response(broker, topic):
    """acks=0: the broker answers nothing, so the next response on the connection is the
    next request's."""
    create_topic(broker.bootstrap, topic)
    batch = kproto.record_batch([(b"k", b"fire-and-forget", [])])
    with Conn(broker.port) as c:
        c.send_raw(frame(request_header(kproto.API_PRODUCE, 3, 500) +
                         kproto.produce_body(topic, 0, batch, acks=0)) +
                   frame(request_header(kproto.API_API_VERSIONS, 0, 501)))
        r = kproto.Reader(c.recv_frame())
        assert r.i32() == 501, "an acks=0 produce was answered"
        assert kproto.parse_api_versions(r)["error"] == 0

        def stored():
            return kproto.list_offsets(c, topic, 0, -1)["offset"] == 1
        wait_until(stored, timeout=10, what="the acks=0 record")
        res = kproto.fetch(c, topic, 0, 0)
        assert [x["value"] for x in kproto.parse_record_batches(res["records"])] == \
            [b"fire-and-forget"]


def test_fetch_long_poll_wakes_on_produce(broker, topic):
    create_topic(broker.bootstrap, topic)
    result = {}

    def waiter():
        with Conn(broker.port, timeout=20) as c:
            t0 = time.monotonic()
            result["res"] = kproto.fetch(c, topic, 0, 0, max_wait_ms=10000)
            result["took"] = time.monotonic() - t0

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)  # let the fetch park on the empty partition (not a synchronisation)
    with Conn(broker.port) as c:
        assert kproto.produce(c, topic, 0, kproto.record_batch([(b"k", b"wake", [])]))["error"] == 0
    th.join(20)
    assert "res" in result, "long-poll fetch never returned"
    assert result["res"]["error"] == 0
    assert [x["value"] for x in kproto.parse_record_batches(result["res"]["records"])] == [b"wake"]
    assert result["took"] < 5, "a parked fetch took %.1fs to see a new record" % result["took"]


def test_fetch_max_wait_honoured(broker, topic):
    create_topic(broker.bootstrap, topic)
    with Conn(broker.port) as c:
        t0 = time.monotonic()
        res = kproto.fetch(c, topic, 0, 0, max_wait_ms=500)
        took = time.monotonic() - t0
        assert res["error"] == 0 and not res["records"]
        assert 0.3 <= took < 3, "fetch with max_wait 500ms on an empty partition took %.2fs" % took
