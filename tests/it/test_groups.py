"""Consumer groups against Weir (the classic protocol): members in their own processes
(tests/it/group_member.py for confluent-kafka and kafka-python, js/kafkajs_group.mjs for
kafkajs) join one group, rebalance on join, on leave and when one is killed (session
timeout), and between them consume every record, none skipped; committed offsets survive
a broker restart; a static member (group.instance.id) that restarts takes its old place
without a rebalance; the admin side (ListGroups, DescribeGroups, DeleteGroups,
OffsetDelete, OffsetFetch v8) is checked through confluent-kafka's AdminClient and raw
requests."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

import kproto
from kproto import i16, i32, i64, string, compact_string, uvarint
from clients import producer
from conftest import admin, create_topic, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "js")


class Member:
    """One group member in a subprocess; its JSON lines are collected by a thread."""

    def __init__(self, argv, name):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=HERE)
        self.assignments = []  # every assignment it was given, in order
        self.records = []      # (partition, offset, value)
        self.stderr = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if "assigned" in obj:
                    self.assignments.append([tuple(x) for x in obj["assigned"]])
                else:
                    self.records.append((obj["p"], obj["o"], obj["v"]))

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    @property
    def assigned(self):
        with self.lock:
            return self.assignments[-1] if self.assignments else None

    def consumed(self):
        with self.lock:
            return list(self.records)

    def stop(self, timeout=30):
        """Closes stdin: the member leaves the group and exits."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def describe(self):
        return "%s: exit %s, assignments %s, %d records, stderr:\n%s" % (
            self.name, self.proc.poll(), self.assignments, len(self.records),
            "".join(self.stderr[-30:]))


def py_member(client, broker, topic, group, strategy="range", instance=None):
    argv = ["/usr/bin/python3", os.path.join(HERE, "group_member.py"), client, broker.bootstrap,
            topic, group, strategy]
    if instance:
        argv.append(instance)
    return Member(argv, "%s%s" % (client, "(%s)" % instance if instance else ""))


def js_member(broker, topic, group):
    return Member(["node", os.path.join(JS, "kafkajs_group.mjs"), broker.bootstrap, topic, group],
                  "kafkajs")


@pytest.fixture
def members():
    started = []
    yield started
    for m in started:
        m.kill()


def produce_values(bootstrap, topic, partitions, start, n):
    """Produces n records with values "r<i>" (i from start) round robin over partitions."""
    p = producer(bootstrap)
    for i in range(start, start + n):
        p.produce(topic, value=("r%d" % i).encode(), partition=i % partitions)
    assert p.flush(30) == 0
    return {"r%d" % i for i in range(start, start + n)}


def all_values(ms):
    out = []
    for m in ms:
        out.extend(v for _p, _o, v in m.consumed())
    return out


def wait_consumed(ms, expected, timeout=60):
    def done():
        return expected <= set(all_values(ms))
    wait_until(done, timeout=timeout, what="every record consumed; missing %s ... members:\n%s" % (
        sorted(expected - set(all_values(ms)))[:10], "\n".join(m.describe() for m in ms)))


def split_evenly(ms, partitions, topic):
    """True when the members' latest assignments are disjoint, cover every partition,
    and each member has its share."""
    got = [m.assigned for m in ms]
    if any(a is None for a in got):
        return False
    flat = [tp for a in got for tp in a]
    share = partitions // len(ms)
    return sorted(flat) == [(topic, p) for p in range(partitions)] and all(len(a) == share for a in got)


def test_rebalance_on_join_and_leave_consumes_each_record_once(broker, topic, members):
    create_topic(broker.bootstrap, topic, partitions=6)
    group = "g-" + topic
    expected = produce_values(broker.bootstrap, topic, 6, 0, 300)
    a = py_member("confluent", broker, topic, group)
    members.append(a)
    wait_until(lambda: a.assigned and len(a.assigned) == 6, timeout=30, what="a gets all 6 partitions:\n" + a.describe())
    b = py_member("confluent", broker, topic, group)
    members.append(b)
    wait_until(lambda: split_evenly([a, b], 6, topic), timeout=30,
               what="rebalance on join: 3 partitions each\n%s\n%s" % (a.describe(), b.describe()))
    expected |= produce_values(broker.bootstrap, topic, 6, 300, 300)
    wait_consumed([a, b], expected)
    assert b.consumed(), "the second member consumed nothing"
    b.stop()
    assert b.proc.returncode == 0, b.describe()
    wait_until(lambda: len(a.assigned) == 6, timeout=30, what="rebalance on leave: a gets all 6 back\n" + a.describe())
    expected |= produce_values(broker.bootstrap, topic, 6, 600, 300)
    wait_consumed([a, b], expected)
    values = all_values([a, b])
    dups = {v for v in values if values.count(v) > 1}
    assert not dups, "records consumed twice: %s" % sorted(dups)[:10]
    assert set(values) == expected


def test_killed_member_expires_and_its_partitions_move(broker, topic, members):
    create_topic(broker.bootstrap, topic, partitions=6)
    group = "g-" + topic
    expected = produce_values(broker.bootstrap, topic, 6, 0, 300)
    a = py_member("confluent", broker, topic, group)
    b = py_member("confluent", broker, topic, group)
    members.extend([a, b])
    wait_until(lambda: split_evenly([a, b], 6, topic), timeout=30,
               what="two members with 3 partitions each\n%s\n%s" % (a.describe(), b.describe()))
    b.kill()  # no LeaveGroup: only the session timeout (6 s) tells the coordinator
    killed_at = time.monotonic()
    wait_until(lambda: len(a.assigned) == 6, timeout=40, what="a gets the dead member's partitions\n" + a.describe())
    assert time.monotonic() - killed_at < 30
    expected |= produce_values(broker.bootstrap, topic, 6, 300, 300)
    wait_consumed([a, b], expected)
    assert set(all_values([a, b])) == expected


def test_commits_survive_restart(fresh_broker, topic):
    create_topic(fresh_broker.bootstrap, topic, partitions=2)
    produce_values(fresh_broker.bootstrap, topic, 2, 0, 100)
    group = "g-" + topic
    conf = {"bootstrap.servers": fresh_broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000}
    c = Consumer(conf)
    c.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 30 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(m)
    assert len(seen) == 30
    last = {}
    for m in seen:
        last[m.partition()] = m.offset() + 1
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in last.items()], asynchronous=False)
    c.close()

    fresh_broker.restart()

    c = Consumer(conf)
    try:
        committed = c.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=20)
        assert {tp.partition: tp.offset for tp in committed} == {p: last.get(p, -1001) for p in (0, 1)}
        c.subscribe([topic])
        first = {}
        deadline = time.monotonic() + 30
        while len(first) < 2 and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                first.setdefault(m.partition(), m.offset())
        assert first == {p: last.get(p, 0) for p in (0, 1)}, "resumed at %s, committed %s" % (first, last)
    finally:
        c.close()


def test_deleted_topic_takes_its_committed_offsets(fresh_broker, topic):
    """As in Kafka, deleting a topic drops the groups' committed offsets for it: a topic
    created again under the same name does not inherit them (also after a restart)."""
    b = fresh_broker
    create_topic(b.bootstrap, topic, partitions=2)
    other = topic + "-kept"
    create_topic(b.bootstrap, other, partitions=1)
    group = "g-" + topic
    conf = {"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False}
    c = Consumer(conf)
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 7), TopicPartition(other, 0, 3)],
                 asynchronous=False)
        got = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=20)
        assert [tp.offset for tp in got] == [5, 7]
    finally:
        c.close()
    a = admin(b.bootstrap)  # kept alive until its futures resolve
    for _t, f in a.delete_topics([topic], operation_timeout=20).items():
        f.result()
    create_topic(b.bootstrap, topic, partitions=2)

    def committed():
        c = Consumer(conf)
        try:
            tps = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1), TopicPartition(other, 0)],
                              timeout=20)
            return [tp.offset for tp in tps]
        finally:
            c.close()
    assert committed() == [-1001, -1001, 3]  # none for the new topic; the other topic's kept
    b.restart()
    assert committed() == [-1001, -1001, 3]


def test_static_member_restart_rejoins_without_rebalance(broker, topic, members):
    create_topic(broker.bootstrap, topic, partitions=4)
    group = "g-" + topic
    a = py_member("confluent", broker, topic, group, instance="a")
    members.append(a)
    wait_until(lambda: a.assigned and len(a.assigned) == 4, timeout=30, what="a assigned\n" + a.describe())
    b = py_member("confluent", broker, topic, group, instance="b")
    members.append(b)
    wait_until(lambda: split_evenly([a, b], 4, topic), timeout=30,
               what="2 partitions each\n%s\n%s" % (a.describe(), b.describe()))
    a_rebalances = len(a.assignments)
    b_assigned = b.assigned
    b.kill()  # a crash: no LeaveGroup; the same instance comes back within the session timeout
    b2 = py_member("confluent", broker, topic, group, instance="b")
    members.append(b2)
    wait_until(lambda: b2.assigned is not None, timeout=5, what="restarted static member assigned\n" + b2.describe())
    assert b2.assigned == b_assigned

    def stable_with_two():
        g = admin(broker.bootstrap).list_groups(group, timeout=10)[0]
        return g.state == "Stable" and len(g.members) == 2 and g

    g = wait_until(stable_with_two, timeout=10, what="group Stable with 2 members")
    assert len(a.assignments) == a_rebalances, "the other member went through a rebalance: %s" % a.assignments
    # b's partitions keep being served by the new process
    expected = produce_values(broker.bootstrap, topic, 4, 0, 40)
    wait_consumed([a, b2], expected)
    assert {m.client_id for m in g.members} == {"weir-it-confluent"}


def test_three_clients_share_one_group(broker, topic, members):
    create_topic(broker.bootstrap, topic, partitions=6)
    group = "g-" + topic
    cf = py_member("confluent", broker, topic, group, strategy="roundrobin")
    members.append(cf)
    wait_until(lambda: cf.assigned and len(cf.assigned) == 6, timeout=30, what="confluent assigned\n" + cf.describe())
    kp = py_member("kafka-python", broker, topic, group, strategy="roundrobin")
    members.append(kp)
    wait_until(lambda: split_evenly([cf, kp], 6, topic), timeout=40,
               what="confluent + kafka-python share\n%s\n%s" % (cf.describe(), kp.describe()))
    js = js_member(broker, topic, group)
    members.append(js)
    ms = [cf, kp, js]
    wait_until(lambda: split_evenly(ms, 6, topic), timeout=60,
               what="three clients, 2 partitions each\n" + "\n".join(m.describe() for m in ms))
    g = admin(broker.bootstrap).list_groups(group, timeout=10)[0]
    assert sorted(m.client_id for m in g.members) == ["weir-it-confluent", "weir-it-kafka-python", "weir-it-kafkajs"]
    assert g.protocol == "roundrobin"
    expected = produce_values(broker.bootstrap, topic, 6, 0, 600)
    wait_consumed(ms, expected)
    values = all_values(ms)
    assert sorted(values) == sorted(expected), "duplicates: %s" % sorted({v for v in values if values.count(v) > 1})[:10]
    for m in ms:
        got = {p for p, _o, _v in m.consumed()}
        assert got == {p for _t, p in m.assigned}, "%s consumed partitions %s" % (m.name, got)
    # rebalance on leave, with the three clients: kafkajs leaves, the others take over
    js.stop()
    wait_until(lambda: split_evenly([cf, kp], 6, topic), timeout=40,
               what="rebalance after kafkajs left\n%s\n%s" % (cf.describe(), kp.describe()))
    expected |= produce_values(broker.bootstrap, topic, 6, 600, 120)
    wait_consumed(ms, expected)
    assert set(all_values(ms)) == expected


# ---------------------------------------------------------------- admin side, raw requests

API_OFFSET_COMMIT, API_OFFSET_FETCH, API_LIST_GROUPS, API_DESCRIBE_GROUPS = 8, 9, 16, 15
API_DELETE_GROUPS, API_OFFSET_DELETE = 42, 47


def commit_simple(c, group, topic, offsets):
    """OffsetCommit v2 outside the group protocol (generation -1): returns errors by partition."""
    body = (string(group) + i32(-1) + string("") + i64(-1) + i32(1) + string(topic) +
            i32(len(offsets)) + b"".join(i32(p) + i64(o) + string("md-%d" % p) for p, o in offsets.items()))
    _, r = c.request(API_OFFSET_COMMIT, 2, body)
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p = r.i32()
            out[p] = r.i16()
    return out


def fetch_v1(c, group, topic, partitions):
    body = string(group) + i32(1) + string(topic) + i32(len(partitions)) + b"".join(i32(p) for p in partitions)
    _, r = c.request(API_OFFSET_FETCH, 1, body)
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, o, md, err = r.i32(), r.i64(), r.string(), r.i16()
            out[p] = (o, md, err)
    return out


def fetch_v8(c, groups):
    """OffsetFetch v8 (flexible) for several groups, all topics each."""
    body = uvarint(len(groups) + 1) + b"".join(compact_string(g) + uvarint(0) + uvarint(0) for g in groups)
    body += b"\x00" + uvarint(0)  # require_stable false, tags
    _, r = c.request(API_OFFSET_FETCH, 8, body, flexible=True)
    r.i32()  # throttle
    out = {}
    for _ in range(r.uvarint() - 1):
        g = r.compact_string()
        topics = {}
        for _ in range(r.uvarint() - 1):
            t = r.compact_string()
            for _ in range(r.uvarint() - 1):
                p, o, _epoch, md, err = r.i32(), r.i64(), r.i32(), r.compact_string(), r.i16()
                r.uvarint()
                topics[(t, p)] = (o, md, err)
            r.uvarint()
        err = r.i16()
        r.uvarint()
        out[g] = (err, topics)
    return out


def list_groups_v4(c, states):
    body = uvarint(len(states) + 1) + b"".join(compact_string(s) for s in states) + uvarint(0)
    _, r = c.request(API_LIST_GROUPS, 4, body, flexible=True)
    r.i32()
    err = r.i16()
    out = []
    for _ in range(r.uvarint() - 1):
        gid, ptype, state = r.compact_string(), r.compact_string(), r.compact_string()
        r.uvarint()
        out.append((gid, ptype, state))
    return err, out


def delete_groups_v0(c, groups):
    _, r = c.request(API_DELETE_GROUPS, 0, i32(len(groups)) + b"".join(string(g) for g in groups))
    r.i32()
    return {r.string(): r.i16() for _ in range(r.i32())}


def offset_delete_v0(c, group, topic, partitions):
    body = string(group) + i32(1) + string(topic) + i32(len(partitions)) + b"".join(i32(p) for p in partitions)
    _, r = c.request(API_OFFSET_DELETE, 0, body)
    err = r.i16()
    r.i32()
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p = r.i32()
            out[p] = r.i16()
    return err, out


def test_admin_list_describe_delete_and_offset_apis(broker, topic, members):
    create_topic(broker.bootstrap, topic, partitions=3)
    g_simple, g_live = "simple-" + topic, "live-" + topic
    with kproto.Conn(broker.port) as c:
        assert commit_simple(c, g_simple, topic, {0: 5, 1: 7, 2: 9}) == {0: 0, 1: 0, 2: 0}
        assert commit_simple(c, g_simple, "no-such-topic-" + topic, {0: 1}) == {0: 3}
        assert fetch_v1(c, g_simple, topic, [0, 1, 2]) == {0: (5, "md-0", 0), 1: (7, "md-1", 0), 2: (9, "md-2", 0)}
        assert fetch_v1(c, "nobody-" + topic, topic, [0]) == {0: (-1, "", 0)}

    a = py_member("confluent", broker, topic, g_live)
    members.append(a)
    wait_until(lambda: a.assigned and len(a.assigned) == 3, timeout=30, what="member assigned\n" + a.describe())

    # AdminClient.list_groups: ListGroups + DescribeGroups
    groups = {g.id: g for g in admin(broker.bootstrap).list_groups(timeout=10)}
    assert groups[g_simple].state == "Empty" and not groups[g_simple].members
    live = groups[g_live]
    assert live.state == "Stable" and live.protocol_type == "consumer" and live.protocol == "range"
    assert len(live.members) == 1 and live.members[0].client_id == "weir-it-confluent"
    assert live.members[0].client_host == "/127.0.0.1"
    assert live.members[0].assignment  # the leader's assignment, as the member got it

    with kproto.Conn(broker.port) as c:
        err, listed = list_groups_v4(c, ["stable"])
        assert err == 0 and (g_live, "consumer", "Stable") in listed and all(s == "Stable" for _g, _t, s in listed)
        err, listed = list_groups_v4(c, ["Empty"])
        assert (g_simple, "", "Empty") in listed and g_live not in [g for g, _t, _s in listed]

        # several groups in one OffsetFetch v8
        got = fetch_v8(c, [g_simple, "nobody-" + topic])
        assert got[g_simple] == (0, {(topic, 0): (5, "md-0", 0), (topic, 1): (7, "md-1", 0), (topic, 2): (9, "md-2", 0)})
        assert got["nobody-" + topic] == (0, {})

        # OffsetDelete: an active member subscribed to the topic protects its offsets
        err, parts = offset_delete_v0(c, g_live, topic, [0])
        assert (err, parts) == (0, {0: 86})  # GROUP_SUBSCRIBED_TO_TOPIC
        err, parts = offset_delete_v0(c, g_simple, topic, [1])
        assert (err, parts) == (0, {1: 0})
        assert fetch_v1(c, g_simple, topic, [0, 1]) == {0: (5, "md-0", 0), 1: (-1, "", 0)}
        assert offset_delete_v0(c, "nobody-" + topic, topic, [0])[0] == 69  # GROUP_ID_NOT_FOUND

        # DeleteGroups: only empty groups
        assert delete_groups_v0(c, [g_simple, g_live, "nobody-" + topic]) == {
            g_simple: 0, g_live: 68, "nobody-" + topic: 69}
        assert fetch_v1(c, g_simple, topic, [0]) == {0: (-1, "", 0)}
    assert g_simple not in {g.id for g in admin(broker.bootstrap).list_groups(timeout=10)}

    a.stop()
    wait_until(lambda: admin(broker.bootstrap).list_groups(g_live, timeout=10)[0].state == "Empty",
               timeout=20, what="group empty after its member left")
    with kproto.Conn(broker.port) as c:
        assert delete_groups_v0(c, [g_live]) == {g_live: 0}
