"""The SQL engine's 'kafka' connector end to end (issue 4 items 5 and 7): `weir sql -f
tests/it/sql/kafka/<job>.sql --bootstrap-servers HOST:PORT` (WEIR_BIN) runs bounded jobs
(scan.bounded.mode = 'latest-offset' and friends, so each ends by itself) against a real
`weir serve`; input is produced with confluent-kafka and the output read back with it.

Covered: JSON in -> filter/project -> JSON out compared byte for byte; record keys
(key.format, key.fields, key.fields-prefix, EXCEPT_KEY / ALL) and the default partitioner
(Kafka's murmur2); metadata columns read (topic, partition, offset, timestamp,
timestamp-type, headers) and written (timestamp, headers); specific-offsets and timestamp
start and stop positions; group-offsets resuming after a run committed; topic lists and
topic-pattern; csv and raw; sink.partitioner fixed and round-robin; the three bad-record
policies (fail naming topic, partition and offset; json.ignore-parse-errors skipping and
counting; errors.dead-letter-topic with the __weir.errors.* headers); options refused at
planning time (exactly-once, misspelt keys, unknown key fields, Java-only and unknown
client properties); missing source, sink and dead-letter topics named at job start.
"""

import json
import os
import sys

import pytest
from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import sqltest  # noqa: E402
from conftest import create_topic, require_bin  # noqa: E402
from clients import assert_delivered, producer, produce_all  # noqa: E402

JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "kafka")
BASE_TS = 1717200000000  # 2024-06-01 00:00:00 UTC, in ms


def job(name):
    return os.path.join(JOBS, name)


def run(broker, name, expect_rc=0):
    return sqltest.run_job_file(require_bin(), job(name), bootstrap=broker.bootstrap, expect_rc=expect_rc)


def run_script(broker, tmp_path, text, expect_rc):
    path = tmp_path / "job.sql"
    path.write_text(text)
    return sqltest.run_job_file(require_bin(), str(path), bootstrap=broker.bootstrap, expect_rc=expect_rc)


def produce(broker, topic, records, partition=0):
    """records: dicts with value (bytes, str or a dict made JSON), key, headers, timestamp."""
    out = []
    for r in records:
        r = dict(r)
        for f in ("value", "key"):
            v = r.get(f)
            if isinstance(v, (dict, list)):
                r[f] = json.dumps(v, separators=(",", ":")).encode()
            elif isinstance(v, str):
                r[f] = v.encode()
        out.append(r)
    assert_delivered(produce_all(producer(broker.bootstrap), topic, out, partition=partition))


def values(msgs):
    return [m.value() for m in msgs]


def murmur2(data):
    """Kafka's Utils.murmur2 (what the Java producer's default partitioner hashes keys with)."""
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = data[4 * n4:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def committed(broker, group, topic, partitions):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


# ---------------------------------------------------------------------------- the tests

def test_json_filter_project_exact(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_orders", partitions=3)
    create_topic(bs, "kt_big_orders", partitions=1)
    rows = [{"id": i, "name": "item-%d" % i, "qty": i % 7, "amount": "%d.%02d" % (i, (i * 37) % 100)}
            for i in range(60)]
    for p in range(3):
        # amounts as JSON numbers, in the text the test chose
        recs = [{"value": '{"id":%d,"name":"%s","qty":%d,"amount":%s}' % (r["id"], r["name"], r["qty"], r["amount"])}
                for r in rows if r["id"] % 3 == p]
        produce(broker, "kt_orders", recs, partition=p)
    p = run(broker, "json_filter.sql")
    want = [('{"id":%d,"name":"%s","qty":%d,"amount":%s}' % (r["id"], r["name"].upper(), r["qty"] * 2,
                                                             r["amount"])).encode()
            for r in rows if float(r["amount"]) > 10]
    got = values(sqltest.read_topic(bs, "kt_big_orders", expect=len(want)))
    assert sorted(got) == sorted(want), p.stderr
    # rows of one input partition keep their order (one reader per partition)
    for part in range(3):
        ids = [json.loads(v)["id"] for v in got if json.loads(v)["id"] % 3 == part]
        assert ids == sorted(ids)


def test_keys_read_and_written(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_keyed", partitions=2)
    create_topic(bs, "kt_keyed_out", partitions=4)
    for p in range(2):
        produce(broker, "kt_keyed", [{"key": {"id": i}, "value": {"name": "n%d" % i, "amount": i + 0.5}}
                                     for i in range(p, 40, 2)], partition=p)
    run(broker, "keys.sql")
    msgs = sqltest.read_topic(bs, "kt_keyed_out", expect=40)
    assert len(msgs) == 40
    seen = set()
    for m in msgs:
        key = json.loads(m.key())
        assert m.key() == b'{"id":%d}' % key["id"]
        i = key["id"]
        assert m.value() == b'{"id":%d,"name":"n%d","amount":%d.50}' % (i, i, i)
        # the default partitioner is Kafka's: murmur2 of the key bytes
        assert m.partition() == (murmur2(m.key()) & 0x7FFFFFFF) % 4, (m.key(), m.partition())
        seen.add(i)
    assert seen == set(range(40))


def test_metadata_columns(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_events", partitions=2)
    create_topic(bs, "kt_events_copy", partitions=1)
    sent = {}
    for p in range(2):
        recs = []
        for k in range(5):
            i = p * 100 + k
            hdrs = [("trace", b"t-%d" % i), ("bin", bytes([0, 255, k]))]
            recs.append({"value": {"id": i}, "timestamp": BASE_TS + i * 10, "headers": hdrs})
            sent[i] = (p, k, BASE_TS + i * 10, hdrs)
        produce(broker, "kt_events", recs, partition=p)
    run(broker, "metadata.sql")
    msgs = sqltest.read_topic(bs, "kt_events_copy", expect=10)
    assert len(msgs) == 10
    for m in msgs:
        v = json.loads(m.value())
        p, off, ts, hdrs = sent[v["id"]]
        assert v == {"id": v["id"], "src_topic": "kt_events", "src_partition": p, "src_offset": off,
                     "ts_type": "CreateTime"}
        assert m.timestamp()[1] == ts
        assert sorted(m.headers()) == sorted(hdrs)


def test_startup_and_bounded_positions(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_positions", partitions=1)
    for t in ("kt_pos_from_offset", "kt_pos_from_time", "kt_pos_offset_range", "kt_pos_time_range"):
        create_topic(bs, t, partitions=1)
    produce(broker, "kt_positions", [{"value": {"id": i}, "timestamp": BASE_TS + i * 1000} for i in range(20)])
    run(broker, "startup.sql")

    def ids(topic, n):
        return [json.loads(v)["id"] for v in values(sqltest.read_topic(bs, topic, expect=n))]

    assert ids("kt_pos_from_offset", 8) == list(range(12, 20))
    assert ids("kt_pos_from_time", 5) == list(range(15, 20))
    assert ids("kt_pos_offset_range", 3) == [3, 4, 5]
    # start: the first record at or after 4.5 s (offset 5); stop before the first at 8 s
    assert ids("kt_pos_time_range", 3) == [5, 6, 7]


def test_group_offsets_resume_after_commit(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_ticks", partitions=2)
    create_topic(bs, "kt_ticks_out", partitions=1)
    for p in range(2):
        produce(broker, "kt_ticks", [{"value": {"id": i}} for i in range(p, 10, 2)], partition=p)
    run(broker, "resume.sql")
    assert committed(broker, "kt-resume-group", "kt_ticks", 2) == {0: 5, 1: 5}
    first = sorted(json.loads(v)["id"] for v in values(sqltest.read_topic(bs, "kt_ticks_out", expect=10)))
    assert first == list(range(10))
    for p in range(2):
        produce(broker, "kt_ticks", [{"value": {"id": i}} for i in range(10 + p, 16, 2)], partition=p)
    run(broker, "resume.sql")
    assert committed(broker, "kt-resume-group", "kt_ticks", 2) == {0: 8, 1: 8}
    both = sorted(json.loads(v)["id"] for v in values(sqltest.read_topic(bs, "kt_ticks_out", expect=16)))
    assert both == list(range(16)), "the second run re-read or missed records"


def test_group_offsets_without_commits_fails_clearly(broker, tmp_path):
    create_topic(broker.bootstrap, "kt_nocommit", partitions=1)
    p = run_script(broker, tmp_path, """
        CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_nocommit', 'format' = 'json',
          'properties.group.id' = 'kt-never-committed', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE o (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_nocommit', 'format' = 'json');
        INSERT INTO o SELECT id FROM t;
    """, expect_rc=1)
    assert "group 'kt-never-committed' has no committed offset for topic kt_nocommit, partition 0" in p.stderr
    assert "properties.auto.offset.reset" in p.stderr


def test_topic_list_and_pattern(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_multi_a", partitions=2)
    create_topic(bs, "kt_multi_b", partitions=1)
    create_topic(bs, "kt_multi_bb", partitions=1)  # the pattern must match the whole name
    for t in ("kt_from_list", "kt_from_pattern"):
        create_topic(bs, t, partitions=1)
    produce(broker, "kt_multi_a", [{"value": {"id": i}} for i in range(0, 4)], partition=0)
    produce(broker, "kt_multi_a", [{"value": {"id": i}} for i in range(4, 6)], partition=1)
    produce(broker, "kt_multi_b", [{"value": {"id": i}} for i in range(100, 103)])
    produce(broker, "kt_multi_bb", [{"value": {"id": 999}}])
    run(broker, "topics.sql")
    want = sorted([(i, "kt_multi_a") for i in range(6)] + [(i, "kt_multi_b") for i in range(100, 103)])
    for topic in ("kt_from_list", "kt_from_pattern"):
        got = sorted((v["id"], v["t"]) for v in map(json.loads, values(sqltest.read_topic(bs, topic, expect=9))))
        assert got == want, topic


def test_csv_and_raw(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_csv_in", partitions=1)
    create_topic(bs, "kt_raw_out", partitions=1)
    create_topic(bs, "kt_csv_out", partitions=1)
    produce(broker, "kt_csv_in", [{"value": b"1,apple,3.50"}, {"value": b'2,"pear, green",7.25'},
                                  {"value": b"3,fig,0.99"}])
    run(broker, "csv_raw.sql")
    assert values(sqltest.read_topic(bs, "kt_raw_out", expect=3)) == [
        b"apple costs 3.50", b"pear, green costs 7.25", b"fig costs 0.99"]
    assert values(sqltest.read_topic(bs, "kt_csv_out", expect=2)) == [b"apple;1", b"fig;3"]


def test_sink_partitioners(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_parts_in", partitions=2)
    create_topic(bs, "kt_parts_fixed", partitions=3)
    create_topic(bs, "kt_parts_rr", partitions=3)
    for p in range(2):
        produce(broker, "kt_parts_in", [{"value": {"id": p * 100 + i}} for i in range(20)], partition=p)
    run(broker, "partitioners.sql")
    fixed = sqltest.read_topic(bs, "kt_parts_fixed", expect=40)
    by_part = {}
    for m in fixed:
        by_part.setdefault(m.partition(), []).append(json.loads(m.value())["src"])
    # two workers, each reading one input partition: worker w writes only to partition w
    assert sorted(by_part) == [0, 1]
    assert set(by_part[0]) == {0} and set(by_part[1]) == {1}
    assert len(by_part[0]) == len(by_part[1]) == 20
    rr = sqltest.read_topic(bs, "kt_parts_rr", expect=40)
    counts = sorted(sum(1 for m in rr if m.partition() == p) for p in range(3))
    assert counts == [13, 13, 14]


BAD_RECORDS = [{"value": {"id": 1, "v": 1.5}}, {"value": {"id": 2, "v": 2.5}},
               {"value": b'{"id": 3, "v": oops}', "headers": [("origin", b"sensor-9")]},
               {"value": {"id": 4, "v": 4.5}}]


def test_bad_record_fails_the_job_by_default(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_bad_fail", partitions=2)
    create_topic(bs, "kt_bad_fail_out", partitions=1)
    produce(broker, "kt_bad_fail", [{"value": {"id": 0, "v": 0.5}}], partition=0)
    produce(broker, "kt_bad_fail", BAD_RECORDS, partition=1)
    p = run(broker, "bad_fail.sql", expect_rc=1)
    assert ("table 'readings': cannot decode the value of the record at topic kt_bad_fail, partition 1, "
            "offset 2: ") in p.stderr


def test_bad_record_skipped_and_counted(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_bad_skip", partitions=1)
    create_topic(bs, "kt_bad_skip_out", partitions=1)
    produce(broker, "kt_bad_skip", BAD_RECORDS)
    p = run(broker, "bad_skip.sql")
    got = [json.loads(v) for v in values(sqltest.read_topic(bs, "kt_bad_skip_out", expect=3))]
    assert got == [{"id": 1, "v": 1.5}, {"id": 2, "v": 2.5}, {"id": 4, "v": 4.5}]
    assert "weir sql: 1 bad records skipped, 0 written to the dead-letter topic" in p.stderr


def test_bad_records_go_to_the_dead_letter_topic(broker):
    bs = broker.bootstrap
    create_topic(bs, "kt_bad_dlq", partitions=1)
    create_topic(bs, "kt_bad_dlq_out", partitions=1)
    create_topic(bs, "kt_bad_dlq_dead", partitions=1)
    recs = [dict(r, key={"k": i}) for i, r in enumerate(BAD_RECORDS)]
    recs.insert(1, {"key": b"not a key", "value": {"id": 9, "v": 9.5}})  # offset 1: the key is bad
    produce(broker, "kt_bad_dlq", recs)
    p = run(broker, "bad_dlq.sql")
    assert "weir sql: 0 bad records skipped, 2 written to the dead-letter topic" in p.stderr
    good = [json.loads(v) for v in values(sqltest.read_topic(bs, "kt_bad_dlq_out", expect=3))]
    assert good == [{"k": 0, "id": 1, "v": 1.5}, {"k": 1, "id": 2, "v": 2.5}, {"k": 3, "id": 4, "v": 4.5}]
    dead = sqltest.read_topic(bs, "kt_bad_dlq_dead", expect=2)
    assert [(m.key(), m.value()) for m in dead] == [(b"not a key", b'{"id":9,"v":9.5}'),
                                                    (b'{"k":2}', b'{"id": 3, "v": oops}')]
    for m, offset, stage, extra in ((dead[0], 1, "KEY_FORMAT", []), (dead[1], 3, "VALUE_FORMAT",
                                                                     [("origin", b"sensor-9")])):
        h = dict(m.headers())
        assert h[b"__weir.errors.topic".decode()] == b"kt_bad_dlq"
        assert h["__weir.errors.partition"] == b"0"
        assert h["__weir.errors.offset"] == str(offset).encode()
        assert h["__weir.errors.stage"] == stage.encode()
        assert h["__weir.errors.table"] == b"readings"
        assert len(h["__weir.errors.exception.message"]) > 0
        for k, v in extra:  # the record's own headers are kept
            assert h[k] == v
    # the source committed past the dead-lettered records: a rerun would not see them again
    assert committed(broker, "kt-dlq-group", "kt_bad_dlq", 1) == {0: 5}


@pytest.mark.parametrize("with_clause,message", [
    ("'topic' = 'kt_x', 'format' = 'json', 'sink.delivery-guarantee' = 'exactly-once'",
     "table 'o': 'sink.delivery-guarantee' = 'exactly-once' needs Kafka transactions, which Weir does not "
     "support yet; use 'at-least-once'"),
    ("'topic' = 'kt_x', 'format' = 'json', 'scan.startup.mod' = 'earliest-offset'",
     "table 'o': unsupported option 'scan.startup.mod' for connector 'kafka'; did you mean 'scan.startup.mode'?"),
    ("'topic' = 'kt_x', 'format' = 'json', 'key.format' = 'json', 'key.fields' = 'idd'",
     "table 'o': key field 'idd' of option 'key.fields' is not a physical column; did you mean 'id'?"),
    ("'topic' = 'a;b', 'format' = 'json'", "table 'o': a sink writes to one topic"),
    ("'topic' = 'kt_x'", "table 'o': connector 'kafka' needs option 'format'"),
    ("'topic' = 'kt_x', 'format' = 'json', 'properties.fetch.wait.max.msec' = '10'",
     "table 'o': option 'properties.fetch.wait.max.msec' is not a Kafka client property librdkafka knows"),
    ("'topic' = 'kt_x', 'format' = 'json', 'properties.ssl.truststore.location' = '/x.jks'",
     "table 'o': option 'properties.ssl.truststore.location' is a Java-client property: librdkafka reads PEM files"),
])
def test_refused_at_planning(broker, tmp_path, with_clause, message):
    p = run_script(broker, tmp_path, """
        CREATE TABLE o (id BIGINT) WITH ('connector' = 'kafka', %s);
        INSERT INTO o VALUES (1);
    """ % with_clause, expect_rc=2)
    assert message in p.stderr


def test_missing_dead_letter_and_sink_topics_named(broker_factory, tmp_path):
    # a broker that creates topics on use would create them: this one does not
    broker = broker_factory({"WEIR_AUTO_CREATE_TOPICS_ENABLE": "false"})
    create_topic(broker.bootstrap, "kt_dlq_missing_in", partitions=1)
    p = run_script(broker, tmp_path, """
        CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_dlq_missing_in', 'format' = 'json',
          'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE o (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_no_such_sink', 'format' = 'json');
        INSERT INTO o SELECT id FROM t;
    """, expect_rc=1)
    assert "table 'o': topic 'kt_no_such_sink' does not exist" in p.stderr
    p = run_script(broker, tmp_path, """
        CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_dlq_missing_in', 'format' = 'json',
          'errors.dead-letter-topic' = 'kt_no_such_dlq',
          'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE o (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_dlq_missing_in', 'format' = 'json');
        INSERT INTO o SELECT id FROM t;
    """, expect_rc=1)
    assert "table 't': 'errors.dead-letter-topic': topic 'kt_no_such_dlq' does not exist" in p.stderr


def test_missing_topic_named(broker, tmp_path):
    create_topic(broker.bootstrap, "kt_missing_out", partitions=1)
    p = run_script(broker, tmp_path, """
        CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_no_such_topic', 'format' = 'json',
          'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE o (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_missing_out', 'format' = 'json');
        INSERT INTO o SELECT id FROM t;
    """, expect_rc=1)
    assert "table 't': topic 'kt_no_such_topic' does not exist" in p.stderr
