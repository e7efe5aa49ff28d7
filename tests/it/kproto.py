"""kproto — the Kafka wire protocol written out by hand with struct, for the tests that
must send what no client library would (bad CRCs, absurd lengths, old magics) and for the
broker fixture's readiness probe. Only the few API versions the tests use are here:
ApiVersions v0/v3, Metadata v1, Produce v2/v3, Fetch v4, ListOffsets v1, CreateTopics v0.
"""

import socket
import struct
import time
import zlib

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19

# Error codes (shared/reference/kafka-protocol/error-codes.tsv).
NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
UNSUPPORTED_FOR_MESSAGE_FORMAT = 43


# ---------------------------------------------------------------- primitive encoders

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):
    """Zigzag varint (record fields)."""
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def compact_bytes(b):
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def compact_array(items, enc):
    """A compact (flexible-version) array: length + 1 as an unsigned varint, 0 for null."""
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS = b"\x00"  # an empty tagged-field section (flexible versions)


# ---------------------------------------------------------------- crc32c

def _crc32c_table():
    poly = 0x82F63B78
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---------------------------------------------------------------- record batches

def record_batch(records, base_timestamp=None, attributes=0, base_offset=0, corrupt_crc=False,
                 magic=2, producer_id=-1, producer_epoch=-1, base_sequence=-1):
    """A record batch v2. records: list of (key, value, headers) with bytes/None and
    headers a list of (str, bytes). An idempotent producer's batch sets producer_id,
    producer_epoch and base_sequence."""
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    body = b""
    for i, (key, value, headers) in enumerate(records):
        rec = i8(0) + varint(0) + varint(i)
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(len(headers or []))
        for hk, hv in headers or []:
            hkb = hk.encode()
            rec += varint(len(hkb)) + hkb
            rec += varint(-1) if hv is None else varint(len(hv)) + hv
        body += varint(len(rec)) + rec
    after_crc = (i16(attributes) + i32(len(records) - 1) + i64(base_timestamp) +
                 i64(base_timestamp) + i64(producer_id) + i16(producer_epoch) + i32(base_sequence) +
                 i32(len(records)) + body)
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    after_length = i32(0) + i8(magic) + u32(crc) + after_crc
    return i64(base_offset) + i32(len(after_length)) + after_length


def legacy_message_set_v1(key, value, timestamp=None):
    """A one-message message set in the old magic-1 format (offset, size, crc32, magic 1)."""
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    after_crc = i8(1) + i8(0) + i64(timestamp) + nbytes(key) + nbytes(value)
    msg = u32(zlib.crc32(after_crc) & 0xFFFFFFFF) + after_crc
    return i64(0) + i32(len(msg)) + msg


def parse_record_batches(data):
    """Parses uncompressed v2 batches into a list of dicts with offset, timestamp, key,
    value, headers. A trailing partial batch is ignored, as clients do."""
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base_offset, batch_len = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + batch_len
        if end > len(data):
            break
        magic = data[pos + 16]
        if magic != 2:
            raise ValueError("magic %d batch at %d" % (magic, pos))
        (crc,) = struct.unpack_from(">I", data, pos + 17)
        if crc32c(data[pos + 21:end]) != crc:
            raise ValueError("bad crc in fetched batch at offset %d" % base_offset)
        attributes, _last_delta, base_ts = struct.unpack_from(">hiq", data, pos + 21)
        if attributes & 0x7:
            raise ValueError("compressed batch; parse_record_batches handles none")
        (count,) = struct.unpack_from(">i", data, pos + 57)
        p = pos + 61
        for _ in range(count):
            _len, p = read_varint(data, p)
            p += 1  # attributes
            ts_delta, p = read_varint(data, p)
            off_delta, p = read_varint(data, p)
            klen, p = read_varint(data, p)
            key = None if klen < 0 else bytes(data[p:p + klen])
            p += max(klen, 0)
            vlen, p = read_varint(data, p)
            value = None if vlen < 0 else bytes(data[p:p + vlen])
            p += max(vlen, 0)
            hcount, p = read_varint(data, p)
            headers = []
            for _h in range(hcount):
                hklen, p = read_varint(data, p)
                hk = bytes(data[p:p + hklen]).decode()
                p += hklen
                hvlen, p = read_varint(data, p)
                hv = None if hvlen < 0 else bytes(data[p:p + hvlen])
                p += max(hvlen, 0)
                headers.append((hk, hv))
            out.append(dict(offset=base_offset + off_delta, timestamp=base_ts + ts_delta,
                            key=key, value=value, headers=headers))
        pos = end
    return out


def batch_headers(data):
    """(base_offset, attributes, record_count) of each whole batch in fetched bytes."""
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base_offset, batch_len = struct.unpack_from(">qi", data, pos)
        if pos + 12 + batch_len > len(data):
            break
        (attributes,) = struct.unpack_from(">h", data, pos + 21)
        (count,) = struct.unpack_from(">i", data, pos + 57)
        out.append((base_offset, attributes, count))
        pos += 12 + batch_len
    return out


def read_varint(data, p):
    shift = 0
    v = 0
    while True:
        b = data[p]
        p += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (v >> 1) ^ -(v & 1), p


# ---------------------------------------------------------------- reader

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def _unpack(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def i8(self):
        return self._unpack(">b")

    def i16(self):
        return self._unpack(">h")

    def i32(self):
        return self._unpack(">i")

    def i64(self):
        return self._unpack(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def nbytes(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, fn):
        n = self.i32()
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def compact_bytes(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def compact_array(self, fn):
        n = self.uvarint() - 1
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def tags(self):
        """Skips a tagged-field section."""
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()

    def remaining(self):
        return len(self.data) - self.pos


# ---------------------------------------------------------------- connection

def request_header(api_key, version, corr_id, client_id="weir-it", flexible=False):
    h = i16(api_key) + i16(version) + i32(corr_id) + string(client_id)
    if flexible:
        h += uvarint(0)  # tagged fields
    return h


def frame(payload):
    return i32(len(payload)) + payload


class Conn:
    """A blocking connection with a per-call deadline."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.corr = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        deadline = time.monotonic() + self.timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the broker within %.1fs" % self.timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection after %d of %d bytes"
                                      % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        (size,) = struct.unpack(">i", self.recv_exact(4))
        if size < 4:
            raise ValueError("response frame of size %d" % size)
        return self.recv_exact(size)

    def request(self, api_key, version, body, flexible=False, corr_id=None):
        """Sends one request and returns (corr_id, Reader over the body after the
        response header). Response header v1 (flexible) has a tagged-field section,
        except for ApiVersions, which always answers with header v0."""
        if corr_id is None:
            self.corr += 1
            corr_id = self.corr
        self.send_raw(frame(request_header(api_key, version, corr_id, flexible=flexible) + body))
        resp = self.recv_frame()
        r = Reader(resp)
        got = r.i32()
        if got != corr_id:
            raise ValueError("correlation id %d answered with %d" % (corr_id, got))
        if flexible and api_key != API_API_VERSIONS:
            tags = r.data[r.pos]
            r.pos += 1
            assert tags == 0, "unexpected tagged fields in the response header"
        return got, r

    def wait_closed(self, timeout=5.0):
        """True when the broker closes the connection (EOF or reset) within timeout;
        bytes it sends first are read and dropped. False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True


# ---------------------------------------------------------------- requests

def parse_api_versions(r, version=0):
    err = r.i16()
    keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
    out = {"error": err, "apis": {k: (lo, hi) for k, lo, hi in keys}}
    if version >= 1 and r.remaining() >= 4:
        out["throttle_ms"] = r.i32()
    return out


def api_versions(conn, version=0):
    _, r = conn.request(API_API_VERSIONS, version, b"")
    return parse_api_versions(r, version)


def metadata_v1_body(topics):
    return array(topics, string)


def parse_metadata_v1(r):
    brokers = r.array(lambda r: dict(node_id=r.i32(), host=r.string(), port=r.i32(),
                                     rack=r.string()))
    controller = r.i32()

    def part(r):
        return dict(error=r.i16(), partition=r.i32(), leader=r.i32(),
                    replicas=r.array(lambda r: r.i32()), isr=r.array(lambda r: r.i32()))

    def topic(r):
        return dict(error=r.i16(), name=r.string(), internal=r.i8(), partitions=r.array(part))

    topics = r.array(topic)
    return dict(brokers=brokers, controller=controller,
                topics={t["name"]: t for t in topics})


def metadata(conn, topics=None):
    _, r = conn.request(API_METADATA, 1, metadata_v1_body(topics))
    return parse_metadata_v1(r)


def produce_body(topic, partition, records_bytes, acks=-1, timeout_ms=10000, version=3):
    body = b""
    if version >= 3:
        body += string(None)  # transactional_id
    body += i16(acks) + i32(timeout_ms)
    body += array([topic], lambda t: string(t) + array(
        [partition], lambda p: i32(p) + nbytes(records_bytes)))
    return body


def parse_produce(r, version=3):
    def part(r):
        d = dict(partition=r.i32(), error=r.i16(), base_offset=r.i64())
        if version >= 2:
            d["log_append_time"] = r.i64()
        return d

    topics = r.array(lambda r: (r.string(), r.array(part)))
    return {name: {p["partition"]: p for p in parts} for name, parts in topics}


def produce(conn, topic, partition, records_bytes, acks=-1, version=3):
    _, r = conn.request(API_PRODUCE, version,
                        produce_body(topic, partition, records_bytes, acks, version=version))
    return parse_produce(r, version)[topic][partition]


def fetch(conn, topic, partition, offset, max_wait_ms=100, max_bytes=1 << 20):
    body = (i32(-1) + i32(max_wait_ms) + i32(1) + i32(max_bytes) + i8(0) +
            array([topic], lambda t: string(t) + array(
                [partition], lambda p: i32(p) + i64(offset) + i32(max_bytes))))
    _, r = conn.request(API_FETCH, 4, body)
    r.i32()  # throttle

    def part(r):
        return dict(partition=r.i32(), error=r.i16(), high_watermark=r.i64(),
                    last_stable_offset=r.i64(),
                    aborted=r.array(lambda r: (r.i64(), r.i64())),
                    records=r.nbytes())

    topics = r.array(lambda r: (r.string(), r.array(part)))
    return {name: {p["partition"]: p for p in parts} for name, parts in topics}[topic][partition]


def list_offsets(conn, topic, partition, timestamp):
    body = i32(-1) + array([topic], lambda t: string(t) + array(
        [partition], lambda p: i32(p) + i64(timestamp)))
    _, r = conn.request(API_LIST_OFFSETS, 1, body)

    def part(r):
        return dict(partition=r.i32(), error=r.i16(), timestamp=r.i64(), offset=r.i64())

    topics = r.array(lambda r: (r.string(), r.array(part)))
    return {name: {p["partition"]: p for p in parts} for name, parts in topics}[topic][partition]


def create_topic(conn, topic, partitions=1, timeout_ms=10000):
    body = (array([topic], lambda t: string(t) + i32(partitions) + i16(1) +
                  array([], None) + array([], None)) + i32(timeout_ms))
    _, r = conn.request(API_CREATE_TOPICS, 0, body)
    res = r.array(lambda r: (r.string(), r.i16()))
    return dict(res)[topic]


def probe(port, timeout=2.0):
    """True when the broker on port answers an ApiVersions v0 request sensibly."""
    try:
        with Conn(port, timeout=timeout) as c:
            res = api_versions(c, 0)
            return res["error"] == 0 and API_API_VERSIONS in res["apis"]
    except (OSError, ValueError, TimeoutError, struct.error):
        return False
