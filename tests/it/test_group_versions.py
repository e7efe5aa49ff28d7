"""Every consumer-group API at its lowest and its highest version, as raw requests
(kproto): JoinGroup v0/v9 (MEMBER_ID_REQUIRED from v4), SyncGroup v0/v5, Heartbeat
v0/v4, LeaveGroup v0/v5 (batch leave), OffsetCommit v0/v8, OffsetFetch v0/v8 (several
groups), DescribeGroups v0/v5, ListGroups v0/v4 (state filter), DeleteGroups v0/v2 and
OffsetDelete v0 (FindCoordinator v0/v4: test_coordinator.py). Each test decodes the
responses and asserts what a client would act on: error codes, generations, leaders,
member ids, protocols, assignments and committed offsets. The members' subscriptions
and assignments are the consumer protocol's, so the broker's subscription checks
(OffsetDelete) see real topics."""

import kproto
from kproto import (i8, i16, i32, i64, string, nbytes, array, compact_string, compact_bytes,
                    compact_array, TAGS)
from conftest import create_topic, wait_until

API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14
API_DESCRIBE_GROUPS = 15
API_LIST_GROUPS = 16
API_DELETE_GROUPS = 42
API_OFFSET_DELETE = 47

UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86

SESSION_MS = 30000


# ---------------------------------------------------------------- consumer protocol

def subscription(topics):
    """ConsumerProtocolSubscription v0: version, topics, user data."""
    return i16(0) + array(topics, string) + nbytes(b"")


def assignment(parts):
    """ConsumerProtocolAssignment v0 from {topic: [partitions]}."""
    return i16(0) + array(sorted(parts.items()), lambda tp: string(tp[0]) + array(tp[1], i32)) + nbytes(b"")


def decode_assignment(b):
    r = kproto.Reader(b)
    assert r.i16() == 0
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        out[t] = [r.i32() for _ in range(r.i32())]
    return out


# ---------------------------------------------------------------- sending without waiting

def send(c, api, version, body, flexible=False):
    """Sends a request and returns its correlation id; recv() reads the answer later
    (JoinGroup and SyncGroup are answered only when the rebalance gets there)."""
    c.corr += 1
    c.send_raw(kproto.frame(kproto.request_header(api, version, c.corr, flexible=flexible) + body))
    return c.corr


def recv(c, corr, flexible=False):
    r = kproto.Reader(c.recv_frame())
    assert r.i32() == corr
    if flexible:
        r.tags()
    return r


def call(c, api, version, body, flexible=False):
    return recv(c, send(c, api, version, body, flexible), flexible)


# ---------------------------------------------------------------- JoinGroup v0 / v9

def join_v0_send(c, group, member_id, protocols, session_ms=SESSION_MS):
    body = (string(group) + i32(session_ms) + string(member_id) + string("consumer") +
            array(protocols, lambda p: string(p[0]) + nbytes(p[1])))
    return send(c, API_JOIN_GROUP, 0, body)


def join_v0_recv(c, corr):
    r = recv(c, corr)
    return dict(error=r.i16(), generation=r.i32(), protocol=r.string(), leader=r.string(),
                member_id=r.string(), members=r.array(lambda r: (r.string(), r.nbytes())))


def join_v9_send(c, group, member_id, protocols, instance_id=None, session_ms=SESSION_MS,
                 rebalance_ms=SESSION_MS):
    body = (compact_string(group) + i32(session_ms) + i32(rebalance_ms) + compact_string(member_id) +
            compact_string(instance_id) + compact_string("consumer") +
            compact_array(protocols, lambda p: compact_string(p[0]) + compact_bytes(p[1]) + TAGS) +
            compact_string("testing") + TAGS)
    return send(c, API_JOIN_GROUP, 9, body, flexible=True)


def join_v9_recv(c, corr):
    r = recv(c, corr, flexible=True)
    d = dict(throttle=r.i32(), error=r.i16(), generation=r.i32(), protocol_type=r.compact_string(),
             protocol=r.compact_string(), leader=r.compact_string(), skip_assignment=r.i8(),
             member_id=r.compact_string())

    def member(r):
        m = (r.compact_string(), r.compact_string(), r.compact_bytes())
        r.tags()
        return m

    d["members"] = r.compact_array(member)
    r.tags()
    return d


# ---------------------------------------------------------------- SyncGroup v0 / v5

def sync_v0_send(c, group, generation, member_id, assignments):
    body = (string(group) + i32(generation) + string(member_id) +
            array(sorted(assignments.items()), lambda a: string(a[0]) + nbytes(a[1])))
    return send(c, API_SYNC_GROUP, 0, body)


def sync_v0_recv(c, corr):
    r = recv(c, corr)
    return r.i16(), r.nbytes()


def sync_v5_send(c, group, generation, member_id, assignments, protocol, instance_id=None):
    body = (compact_string(group) + i32(generation) + compact_string(member_id) + compact_string(instance_id) +
            compact_string("consumer") + compact_string(protocol) +
            compact_array(sorted(assignments.items()), lambda a: compact_string(a[0]) + compact_bytes(a[1]) + TAGS) +
            TAGS)
    return send(c, API_SYNC_GROUP, 5, body, flexible=True)


def sync_v5_recv(c, corr):
    r = recv(c, corr, flexible=True)
    r.i32()
    d = dict(error=r.i16(), protocol_type=r.compact_string(), protocol=r.compact_string(),
             assignment=r.compact_bytes())
    r.tags()
    return d


# ---------------------------------------------------------------- Heartbeat, LeaveGroup

def heartbeat_v0(c, group, generation, member_id):
    return call(c, API_HEARTBEAT, 0, string(group) + i32(generation) + string(member_id)).i16()


def heartbeat_v4(c, group, generation, member_id, instance_id=None):
    body = compact_string(group) + i32(generation) + compact_string(member_id) + compact_string(instance_id) + TAGS
    r = call(c, API_HEARTBEAT, 4, body, flexible=True)
    r.i32()
    err = r.i16()
    r.tags()
    return err


def leave_v0(c, group, member_id):
    return call(c, API_LEAVE_GROUP, 0, string(group) + string(member_id)).i16()


def leave_v5(c, group, members):
    """members: [(member_id, group_instance_id)]; returns (error, [(member, instance, error)])."""
    body = (compact_string(group) +
            compact_array(members, lambda m: compact_string(m[0]) + compact_string(m[1]) +
                          compact_string("bye") + TAGS) + TAGS)
    r = call(c, API_LEAVE_GROUP, 5, body, flexible=True)
    r.i32()
    err = r.i16()

    def member(r):
        m = (r.compact_string(), r.compact_string(), r.i16())
        r.tags()
        return m

    out = r.compact_array(member)
    r.tags()
    return err, out


# ---------------------------------------------------------------- OffsetCommit, OffsetFetch

def commit_v0(c, group, topic, offsets):
    """offsets: {partition: (offset, metadata)}; returns {partition: error}."""
    body = string(group) + array([topic], lambda t: string(t) + array(
        sorted(offsets.items()), lambda po: i32(po[0]) + i64(po[1][0]) + string(po[1][1])))
    r = call(c, API_OFFSET_COMMIT, 0, body)
    out = {}
    for _ in range(r.i32()):
        assert r.string() == topic
        for _ in range(r.i32()):
            p = r.i32()
            out[p] = r.i16()
    return out


def commit_v8(c, group, generation, member_id, offsets, instance_id=None):
    """offsets: {(topic, partition): (offset, leader_epoch, metadata)}; returns
    {(topic, partition): error}."""
    by_topic = {}
    for (t, p), v in sorted(offsets.items()):
        by_topic.setdefault(t, []).append((p,) + v)
    body = (compact_string(group) + i32(generation) + compact_string(member_id) + compact_string(instance_id) +
            compact_array(list(by_topic.items()), lambda tp: compact_string(tp[0]) + compact_array(
                tp[1], lambda x: i32(x[0]) + i64(x[1]) + i32(x[2]) + compact_string(x[3]) + TAGS) + TAGS) +
            TAGS)
    r = call(c, API_OFFSET_COMMIT, 8, body, flexible=True)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        t = r.compact_string()
        for _ in range(r.uvarint() - 1):
            p, err = r.i32(), r.i16()
            r.tags()
            out[(t, p)] = err
        r.tags()
    r.tags()
    return out


def fetch_v0(c, group, topic, partitions):
    """{partition: (offset, metadata, error)}"""
    body = string(group) + array([topic], lambda t: string(t) + array(partitions, i32))
    r = call(c, API_OFFSET_FETCH, 0, body)
    out = {}
    for _ in range(r.i32()):
        assert r.string() == topic
        for _ in range(r.i32()):
            p, o, md, err = r.i32(), r.i64(), r.string(), r.i16()
            out[p] = (o, md, err)
    assert r.remaining() == 0  # v0 has no top-level error code
    return out


def fetch_v8(c, groups):
    """groups: {group: None (all topics) or {topic: [partitions]}}; returns
    {group: (error, {(topic, partition): (offset, leader_epoch, metadata, error)})}."""
    def group(g):
        gid, topics = g
        enc_topics = None if topics is None else sorted(topics.items())
        return compact_string(gid) + compact_array(
            enc_topics, lambda tp: compact_string(tp[0]) + compact_array(tp[1], i32) + TAGS) + TAGS

    body = compact_array(list(groups.items()), group) + i8(0) + TAGS
    r = call(c, API_OFFSET_FETCH, 8, body, flexible=True)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        gid = r.compact_string()
        parts = {}
        for _ in range(r.uvarint() - 1):
            t = r.compact_string()
            for _ in range(r.uvarint() - 1):
                p, o, epoch, md, err = r.i32(), r.i64(), r.i32(), r.compact_string(), r.i16()
                r.tags()
                parts[(t, p)] = (o, epoch, md, err)
            r.tags()
        err = r.i16()
        r.tags()
        out[gid] = (err, parts)
    r.tags()
    return out


# ---------------------------------------------------------------- Describe, List, Delete

def describe_v0(c, groups):
    r = call(c, API_DESCRIBE_GROUPS, 0, array(groups, string))

    def member(r):
        return dict(member_id=r.string(), client_id=r.string(), client_host=r.string(),
                    metadata=r.nbytes(), assignment=r.nbytes())

    def group(r):
        return dict(error=r.i16(), group_id=r.string(), state=r.string(), protocol_type=r.string(),
                    protocol=r.string(), members=r.array(member))

    return {g["group_id"]: g for g in r.array(group)}


def describe_v5(c, groups):
    r = call(c, API_DESCRIBE_GROUPS, 5, compact_array(groups, compact_string) + i8(0) + TAGS, flexible=True)
    r.i32()

    def member(r):
        m = dict(member_id=r.compact_string(), instance_id=r.compact_string(), client_id=r.compact_string(),
                 client_host=r.compact_string(), metadata=r.compact_bytes(), assignment=r.compact_bytes())
        r.tags()
        return m

    def group(r):
        g = dict(error=r.i16(), group_id=r.compact_string(), state=r.compact_string(),
                 protocol_type=r.compact_string(), protocol=r.compact_string(), members=r.compact_array(member),
                 authorized_operations=r.i32())
        r.tags()
        return g

    out = {g["group_id"]: g for g in r.compact_array(group)}
    r.tags()
    return out


def list_v0(c):
    r = call(c, API_LIST_GROUPS, 0, b"")
    err = r.i16()
    return err, dict(r.array(lambda r: (r.string(), r.string())))


def list_v4(c, states):
    r = call(c, API_LIST_GROUPS, 4, compact_array(states, compact_string) + TAGS, flexible=True)
    r.i32()
    err = r.i16()

    def group(r):
        g = (r.compact_string(), (r.compact_string(), r.compact_string()))
        r.tags()
        return g

    out = dict(r.compact_array(group))
    r.tags()
    return err, out


def delete_groups_v0(c, groups):
    r = call(c, API_DELETE_GROUPS, 0, array(groups, string))
    r.i32()
    return dict(r.array(lambda r: (r.string(), r.i16())))


def delete_groups_v2(c, groups):
    r = call(c, API_DELETE_GROUPS, 2, compact_array(groups, compact_string) + TAGS, flexible=True)
    r.i32()

    def result(r):
        x = (r.compact_string(), r.i16())
        r.tags()
        return x

    out = dict(r.compact_array(result))
    r.tags()
    return out


def offset_delete_v0(c, group, topics):
    """topics: {topic: [partitions]}; returns (error, {(topic, partition): error})."""
    body = string(group) + array(sorted(topics.items()), lambda tp: string(tp[0]) + array(tp[1], i32))
    r = call(c, API_OFFSET_DELETE, 0, body)
    err = r.i16()
    r.i32()
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            out[(t, p)] = r.i16()
    return err, out


# ---------------------------------------------------------------- a one-member group

def stable_member_v0(c, group, topic, parts):
    """Joins `group` alone (v0) subscribed to topic, syncs an assignment of parts;
    returns (member_id, generation, subscription bytes, assignment bytes)."""
    sub = subscription([topic])
    j = join_v0_recv(c, join_v0_send(c, group, "", [("range", sub)]))
    assert j["error"] == 0, j
    asg = assignment({topic: parts})
    err, got = sync_v0_recv(c, sync_v0_send(c, group, j["generation"], j["member_id"], {j["member_id"]: asg}))
    assert (err, got) == (0, asg)
    return j["member_id"], j["generation"], sub, asg


# ---------------------------------------------------------------- tests

def test_join_sync_heartbeat_leave_lowest_versions(broker, topic):
    """v0 of JoinGroup, SyncGroup, Heartbeat and LeaveGroup: a member forms a group, a
    second one joins (the first must rejoin: a rebalance), both get their assignment,
    heartbeats see generations and rebalances, and one leaves."""
    group = "g0-" + topic
    sub_a, sub_b = subscription([topic]), subscription([topic])
    with kproto.Conn(broker.port) as a, kproto.Conn(broker.port) as b:
        ja = join_v0_recv(a, join_v0_send(a, group, "", [("range", sub_a)]))
        assert ja["error"] == 0 and ja["generation"] == 1 and ja["protocol"] == "range"
        ma = ja["member_id"]
        assert ma.startswith("weir-it-") and ja["leader"] == ma and ja["members"] == [(ma, sub_a)]
        asg = assignment({topic: [0, 1]})
        assert sync_v0_recv(a, sync_v0_send(a, group, 1, ma, {ma: asg})) == (0, asg)
        assert heartbeat_v0(a, group, 1, ma) == 0
        assert heartbeat_v0(a, group, 7, ma) == ILLEGAL_GENERATION
        assert heartbeat_v0(a, group, 1, "nobody") == UNKNOWN_MEMBER_ID

        # b joins: the group rebalances; a learns it from its heartbeat and rejoins
        corr_b = join_v0_send(b, group, "", [("range", sub_b)])
        wait_until(lambda: heartbeat_v0(a, group, 1, ma) == REBALANCE_IN_PROGRESS, what="the rebalance seen by a heartbeat")
        ja = join_v0_recv(a, join_v0_send(a, group, ma, [("range", sub_a)]))
        jb = join_v0_recv(b, corr_b)
        mb = jb["member_id"]
        assert ja["error"] == jb["error"] == 0 and ja["generation"] == jb["generation"] == 2
        assert ja["leader"] == jb["leader"] == ma and mb != ma
        assert sorted(ja["members"]) == sorted([(ma, sub_a), (mb, sub_b)])
        assert jb["members"] == []  # only the leader gets the members

        # the follower's SyncGroup waits for the leader's assignment
        asg_a, asg_b = assignment({topic: [0]}), assignment({topic: [1]})
        corr_b = sync_v0_send(b, group, 2, mb, {})
        assert sync_v0_recv(a, sync_v0_send(a, group, 2, ma, {ma: asg_a, mb: asg_b})) == (0, asg_a)
        err, got = sync_v0_recv(b, corr_b)
        assert err == 0 and decode_assignment(got) == {topic: [1]}
        assert heartbeat_v0(a, group, 1, ma) == ILLEGAL_GENERATION
        assert heartbeat_v0(b, group, 2, mb) == 0

        assert leave_v0(b, group, mb) == 0
        assert leave_v0(b, group, mb) == UNKNOWN_MEMBER_ID
        assert heartbeat_v0(a, group, 2, ma) == REBALANCE_IN_PROGRESS
        ja = join_v0_recv(a, join_v0_send(a, group, ma, [("range", sub_a)]))
        assert ja["error"] == 0 and ja["generation"] == 3 and ja["members"] == [(ma, sub_a)]
        assert leave_v0(a, group, ma) == 0
        d = describe_v0(a, [group])[group]
        assert (d["error"], d["state"], d["members"]) == (0, "Empty", [])


def test_join_v9_member_id_required_sync_v5_static_member_heartbeat_v4_leave_v5(broker, topic):
    """The highest versions: JoinGroup v9 asks a new dynamic member to come back with
    the id it is given (MEMBER_ID_REQUIRED); a static member joins at once; the
    protocol is the first of the leader's that every member supports; SyncGroup v5 checks
    the protocol; a static member restarting with a new member id takes its old place
    without a rebalance and its old id is fenced; LeaveGroup v5 removes several members
    in one request."""
    group = "g9-" + topic
    sub = subscription([topic])
    with kproto.Conn(broker.port) as a, kproto.Conn(broker.port) as b:
        j = join_v9_recv(a, join_v9_send(a, group, "", [("roundrobin", sub), ("range", sub)]))
        assert j["error"] == MEMBER_ID_REQUIRED and j["generation"] == -1
        ma = j["member_id"]
        assert ma.startswith("weir-it-")
        j = join_v9_recv(a, join_v9_send(a, group, ma, [("roundrobin", sub), ("range", sub)]))
        assert j["error"] == 0 and j["generation"] == 1
        assert (j["protocol_type"], j["protocol"], j["leader"], j["member_id"]) == ("consumer", "roundrobin", ma, ma)
        assert j["skip_assignment"] == 0 and j["members"] == [(ma, None, sub)]
        asg = assignment({topic: [0, 1, 2]})
        s = sync_v5_recv(a, sync_v5_send(a, group, 1, ma, {ma: asg}, "roundrobin"))
        assert s == dict(error=0, protocol_type="consumer", protocol="roundrobin", assignment=asg)
        assert heartbeat_v4(a, group, 1, ma) == 0

        # a static member that only speaks "range": no MEMBER_ID_REQUIRED, a rebalance,
        # and the group settles on "range"
        corr_b = join_v9_send(b, group, "", [("range", sub)], instance_id="inst-1")
        wait_until(lambda: heartbeat_v4(a, group, 1, ma) == REBALANCE_IN_PROGRESS, what="the rebalance seen by a heartbeat")
        ja = join_v9_recv(a, join_v9_send(a, group, ma, [("roundrobin", sub), ("range", sub)]))
        jb = join_v9_recv(b, corr_b)
        mb = jb["member_id"]
        assert ja["error"] == jb["error"] == 0 and ja["generation"] == jb["generation"] == 2
        assert ja["protocol"] == jb["protocol"] == "range" and ja["leader"] == jb["leader"] == ma
        assert sorted(ja["members"]) == sorted([(ma, None, sub), (mb, "inst-1", sub)])
        assert jb["members"] == []

        asg_a, asg_b = assignment({topic: [0, 1]}), assignment({topic: [2]})
        assert sync_v5_recv(a, sync_v5_send(a, group, 2, ma, {}, "roundrobin"))["error"] == INCONSISTENT_GROUP_PROTOCOL
        corr_b = sync_v5_send(b, group, 2, mb, {}, "range", instance_id="inst-1")
        s = sync_v5_recv(a, sync_v5_send(a, group, 2, ma, {ma: asg_a, mb: asg_b}, "range"))
        assert s == dict(error=0, protocol_type="consumer", protocol="range", assignment=asg_a)
        s = sync_v5_recv(b, corr_b)
        assert s["error"] == 0 and decode_assignment(s["assignment"]) == {topic: [2]}
        assert heartbeat_v4(b, group, 2, mb, "inst-1") == 0

        # the static member restarts: a new id, same generation, same assignment, no rebalance
        with kproto.Conn(broker.port) as b2:
            j = join_v9_recv(b2, join_v9_send(b2, group, "", [("range", sub)], instance_id="inst-1"))
            mb2 = j["member_id"]
            assert j["error"] == 0 and mb2 != mb and j["generation"] == 2 and j["leader"] == ma
            assert heartbeat_v4(b2, group, 2, mb, "inst-1") == FENCED_INSTANCE_ID
            assert heartbeat_v4(a, group, 2, ma) == 0  # the leader sees no rebalance
            s = sync_v5_recv(b2, sync_v5_send(b2, group, 2, mb2, {}, "range", instance_id="inst-1"))
            assert s["error"] == 0 and s["assignment"] == asg_b
            d = describe_v5(b2, [group])[group]
            assert d["state"] == "Stable" and sorted(m["member_id"] for m in d["members"]) == sorted([ma, mb2])

            # one LeaveGroup for both members (one by member id, one by instance id) and
            # an unknown one
            err, res = leave_v5(b2, group, [(ma, None), ("", "inst-1"), ("nobody", None)])
            assert err == 0
            assert res == [(ma, None, 0), ("", "inst-1", 0), ("nobody", None, UNKNOWN_MEMBER_ID)]
            d = describe_v5(b2, [group])[group]
            assert (d["error"], d["state"], d["members"]) == (0, "Empty", [])
            assert heartbeat_v4(b2, group, 2, mb2, "inst-1") == UNKNOWN_MEMBER_ID


def test_offset_commit_and_fetch_lowest_and_highest_versions(broker, topic):
    """OffsetCommit v0 (a simple consumer) and v8 (a member, with generation, leader
    epoch and metadata checks); OffsetFetch v0 and v8 with several groups, listed
    partitions and all topics."""
    create_topic(broker.bootstrap, topic, partitions=3)
    simple, live = "simple-" + topic, "live-" + topic
    with kproto.Conn(broker.port) as c:
        assert commit_v0(c, simple, topic, {0: (10, "zero"), 1: (11, None), 7: (1, "x")}) == {
            0: 0, 1: 0, 7: UNKNOWN_TOPIC_OR_PARTITION}
        assert commit_v0(c, simple, "no-such-" + topic, {0: (1, "")}) == {0: UNKNOWN_TOPIC_OR_PARTITION}
        # null metadata reads back as "", as Kafka stores it
        assert fetch_v0(c, simple, topic, [0, 1, 2]) == {0: (10, "zero", 0), 1: (11, "", 0), 2: (-1, "", 0)}
        assert commit_v0(c, simple, topic, {0: (12, "again")}) == {0: 0}
        assert fetch_v0(c, simple, topic, [0]) == {0: (12, "again", 0)}

        member, gen, _sub, _asg = stable_member_v0(c, live, topic, [0, 1, 2])
        offs = {(topic, 0): (100, 4, "m0"), (topic, 2): (300, 5, None)}
        assert commit_v8(c, live, gen, member, offs) == {(topic, 0): 0, (topic, 2): 0}
        bad = {(topic, 1): (1, -1, "")}
        assert commit_v8(c, live, gen + 1, member, bad) == {(topic, 1): ILLEGAL_GENERATION}
        assert commit_v8(c, live, gen, "nobody", bad) == {(topic, 1): UNKNOWN_MEMBER_ID}
        assert commit_v8(c, live, -1, "", bad) == {(topic, 1): UNKNOWN_MEMBER_ID}  # not while it has members
        assert commit_v8(c, live, gen, member, {(topic, 9): (1, -1, "")}) == {(topic, 9): UNKNOWN_TOPIC_OR_PARTITION}
        assert commit_v8(c, live, gen, member, {(topic, 1): (200, 4, "m1")}) == {(topic, 1): 0}

        got = fetch_v8(c, {live: {topic: [0, 1, 2]}, simple: None, "nobody-" + topic: None,
                           "nobody2-" + topic: {topic: [0]}})
        assert got[live] == (0, {(topic, 0): (100, 4, "m0", 0), (topic, 1): (200, 4, "m1", 0),
                                 (topic, 2): (300, 5, "", 0)})
        assert got[simple] == (0, {(topic, 0): (12, -1, "again", 0), (topic, 1): (11, -1, "", 0)})
        assert got["nobody-" + topic] == (0, {})
        assert got["nobody2-" + topic] == (0, {(topic, 0): (-1, -1, "", 0)})
        # the lowest version sees the member's commits too
        assert fetch_v0(c, live, topic, [0, 1]) == {0: (100, "m0", 0), 1: (200, "m1", 0)}
        assert leave_v0(c, live, member) == 0


def test_describe_and_list_groups_lowest_and_highest_versions(broker, topic):
    """DescribeGroups v0/v5 (members, protocol, assignment; unknown groups are Dead) and
    ListGroups v0/v4 (the state filter is case-insensitive)."""
    create_topic(broker.bootstrap, topic, partitions=2)
    live, empty, static = "live-" + topic, "empty-" + topic, "static-" + topic
    with kproto.Conn(broker.port) as c, kproto.Conn(broker.port) as s:
        member, _gen, sub, asg = stable_member_v0(c, live, topic, [0, 1])
        assert commit_v0(c, empty, topic, {0: (1, "")}) == {0: 0}
        j = join_v9_recv(s, join_v9_send(s, static, "", [("range", sub)], instance_id="inst-x"))
        assert j["error"] == 0
        ms = j["member_id"]
        assert sync_v5_recv(s, sync_v5_send(s, static, j["generation"], ms, {ms: asg}, "range",
                                            instance_id="inst-x"))["error"] == 0

        d = describe_v0(c, [live, empty, "nobody-" + topic])
        assert {k: v["error"] for k, v in d.items()} == {live: 0, empty: 0, "nobody-" + topic: 0}
        assert (d[live]["state"], d[live]["protocol_type"], d[live]["protocol"]) == ("Stable", "consumer", "range")
        assert d[live]["members"] == [dict(member_id=member, client_id="weir-it", client_host="/127.0.0.1",
                                           metadata=sub, assignment=asg)]
        assert (d[empty]["state"], d[empty]["protocol_type"], d[empty]["members"]) == ("Empty", "", [])
        assert d["nobody-" + topic]["state"] == "Dead"

        d = describe_v5(c, [static, live])
        assert d[static]["state"] == "Stable" and d[static]["protocol"] == "range"
        assert d[static]["members"] == [dict(member_id=ms, instance_id="inst-x", client_id="weir-it",
                                             client_host="/127.0.0.1", metadata=sub, assignment=asg)]
        assert d[live]["members"][0]["instance_id"] is None

        err, groups = list_v0(c)
        assert err == 0
        assert (groups[live], groups[empty], groups[static]) == ("consumer", "", "consumer")
        err, groups = list_v4(c, [])
        assert err == 0
        assert (groups[live], groups[empty]) == (("consumer", "Stable"), ("", "Empty"))
        err, groups = list_v4(c, ["stable"])
        assert err == 0 and live in groups and static in groups and empty not in groups
        assert {st for _t, st in groups.values()} == {"Stable"}
        err, groups = list_v4(c, ["Empty", "PreparingRebalance"])
        assert err == 0 and empty in groups and live not in groups
        assert {st for _t, st in groups.values()} <= {"Empty", "PreparingRebalance"}
        assert leave_v0(c, live, member) == 0
        assert leave_v5(s, static, [("", "inst-x")]) == (0, [("", "inst-x", 0)])


def test_delete_groups_and_offset_delete(broker, topic):
    """DeleteGroups v0/v2 delete only empty groups (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND)
    and their offsets; OffsetDelete v0 refuses the topics an active member subscribes to
    and deletes the others."""
    create_topic(broker.bootstrap, topic, partitions=2)
    other = create_topic(broker.bootstrap, "other-" + topic, partitions=1)
    live, e1, e2 = "live-" + topic, "e1-" + topic, "e2-" + topic
    with kproto.Conn(broker.port) as c:
        member, gen, _sub, _asg = stable_member_v0(c, live, topic, [0, 1])
        assert commit_v8(c, live, gen, member, {(topic, 0): (5, -1, ""), (other, 0): (6, -1, "")}) == {
            (topic, 0): 0, (other, 0): 0}
        for g in (e1, e2):
            assert commit_v0(c, g, topic, {0: (1, ""), 1: (2, "")}) == {0: 0, 1: 0}

        # OffsetDelete: the live group's subscribed topic is protected, the other is not
        err, res = offset_delete_v0(c, live, {topic: [0], other: [0, 5]})
        assert err == 0
        assert res == {(topic, 0): GROUP_SUBSCRIBED_TO_TOPIC, (other, 0): 0, (other, 5): UNKNOWN_TOPIC_OR_PARTITION}
        got = fetch_v8(c, {live: None})[live]
        assert got == (0, {(topic, 0): (5, -1, "", 0)})
        assert offset_delete_v0(c, e1, {topic: [1]}) == (0, {(topic, 1): 0})
        assert fetch_v0(c, e1, topic, [0, 1]) == {0: (1, "", 0), 1: (-1, "", 0)}
        assert offset_delete_v0(c, "nobody-" + topic, {topic: [0]})[0] == GROUP_ID_NOT_FOUND

        assert delete_groups_v0(c, [e1, live, "nobody-" + topic]) == {
            e1: 0, live: NON_EMPTY_GROUP, "nobody-" + topic: GROUP_ID_NOT_FOUND}
        assert fetch_v0(c, e1, topic, [0]) == {0: (-1, "", 0)}
        assert delete_groups_v2(c, [e2, e1]) == {e2: 0, e1: GROUP_ID_NOT_FOUND}
        assert fetch_v8(c, {e2: None}) == {e2: (0, {})}
        _err, listed = list_v0(c)
        assert e1 not in listed and e2 not in listed and live in listed

        assert leave_v0(c, live, member) == 0
        assert delete_groups_v2(c, [live]) == {live: 0}
        assert fetch_v8(c, {live: None}) == {live: (0, {})}
