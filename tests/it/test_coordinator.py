"""FindCoordinator: a single Weir node coordinates every group and transactional id, so
it names itself, for one key (v0-v3) and for batched keys (v4, flexible)."""
import kproto
from kproto import i8, i32, string, compact_string, uvarint

API_FIND_COORDINATOR = 10


def test_find_coordinator_v0(broker):
    with kproto.Conn(broker.port) as c:
        _, r = c.request(API_FIND_COORDINATOR, 0, string("my-group"))
        assert r.i16() == 0
        assert r.i32() == 0  # node id
        assert r.string() == "127.0.0.1"
        assert r.i32() == broker.port


def test_find_coordinator_v4_batched(broker):
    keys = ["g1", "g2", "g3"]
    body = i8(0) + uvarint(len(keys) + 1) + b"".join(compact_string(k) for k in keys) + uvarint(0)
    with kproto.Conn(broker.port) as c:
        _, r = c.request(API_FIND_COORDINATOR, 4, body, flexible=True)
        assert r.i32() == 0  # throttle
        n = r.uvarint() - 1
        got = []
        for _ in range(n):
            key = r.compact_string()
            node, host, port, err = r.i32(), r.compact_string(), r.i32(), r.i16()
            r.compact_string()  # error message
            r.uvarint()  # tagged fields
            got.append((key, node, host, port, err))
        assert got == [(k, 0, "127.0.0.1", broker.port, 0) for k in keys]


def test_find_coordinator_is_advertised(broker):
    """librdkafka turns on lz4 only when FindCoordinator v0 is advertised."""
    with kproto.Conn(broker.port) as c:
        apis = kproto.api_versions(c, 0)["apis"]
    assert apis[API_FIND_COORDINATOR][0] == 0 and apis[API_FIND_COORDINATOR][1] >= 4
