"""Changelogs through the SQL engine's Kafka connectors (issue 5 item 4): `weir sql -f
tests/it/sql/changelog/<job>.sql --bootstrap-servers HOST:PORT` against a real `weir
serve`, input produced and output read back with confluent-kafka.

Covered: the debezium-json format read (c/r -> +I, u -> -U +U, d -> -D, Debezium's
tombstones ignored, schema-include envelopes) and shown by the print connector with its
row kinds; debezium-json written exactly as Flink's serializer writes it; an upsert-kafka
sink (record key = the primary key in key.format, tombstones for deletes, -U dropped);
upsert-kafka and debezium-json options refused at planning time; bad Debezium records
failing the job naming topic, partition and offset, skipped with ignore-parse-errors, or
dead-lettered; a group aggregation into upsert-kafka compacted by key against SQLite;
an upsert-kafka source read back through the changelog normaliser.
"""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "oracle"))
import sqltest  # noqa: E402
from conftest import create_topic, require_bin  # noqa: E402
from clients import assert_delivered, producer, produce_all  # noqa: E402

JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "changelog")


def run(broker, name, expect_rc=0):
    return sqltest.run_job_file(require_bin(), os.path.join(JOBS, name), bootstrap=broker.bootstrap,
                                expect_rc=expect_rc)


def run_script(broker, tmp_path, text, expect_rc):
    path = tmp_path / "job.sql"
    path.write_text(text)
    return sqltest.run_job_file(require_bin(), str(path), bootstrap=broker.bootstrap, expect_rc=expect_rc)


def enc(v):
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":")).encode()
    return v.encode() if isinstance(v, str) else v


def produce(broker, topic, records):
    """records: (key, value) pairs; dicts are sent as compact JSON, None as null."""
    recs = [{"key": enc(k), "value": enc(v)} for k, v in records]
    assert_delivered(produce_all(producer(broker.bootstrap), topic, recs))


SCOOTER = {"id": 1, "name": "scooter", "weight": 5.18}
SCOOTER2 = {"id": 1, "name": "scooter", "weight": 5.5}
CAR = {"id": 2, "name": "car", "weight": 900.5}
HAMMER = {"id": 3, "name": "hammer", "weight": 0.75}

# A snapshot read, a create, an update, a delete followed by Debezium's tombstone, and a
# create carrying Debezium's other fields (source, ts_ms), which are ignored.
CHANGES = [
    ({"id": 1}, {"before": None, "after": SCOOTER, "op": "r"}),
    ({"id": 2}, {"before": None, "after": CAR, "op": "c"}),
    ({"id": 1}, {"before": SCOOTER, "after": SCOOTER2, "op": "u"}),
    ({"id": 2}, {"before": CAR, "after": None, "op": "d"}),
    ({"id": 2}, None),
    ({"id": 3}, {"before": None, "after": HAMMER, "op": "c", "source": {"db": "inventory", "table": "products"},
                 "ts_ms": 1589362330904}),
]


def test_debezium_source_print_shows_kinds(broker):
    create_topic(broker.bootstrap, "cl_products", partitions=1)
    produce(broker, "cl_products", CHANGES)
    p = run(broker, "cdc_print.sql")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("cdc> ")]
    assert lines == [
        "cdc> +I[1, scooter, 5.18]",
        "cdc> +I[2, car, 900.5]",
        "cdc> -U[1, scooter, 5.18]",
        "cdc> +U[1, scooter, 5.5]",
        "cdc> -D[2, car, 900.5]",
        "cdc> +I[3, hammer, 0.75]",
    ], p.stdout + p.stderr


def test_debezium_schema_include(broker):
    create_topic(broker.bootstrap, "cl_products_schema", partitions=1)
    schema = {"type": "struct", "fields": [], "optional": False, "name": "inventory.products.Envelope"}
    produce(broker, "cl_products_schema", [
        (None, {"schema": schema, "payload": {"before": None, "after": {"id": 7, "name": "a"}, "op": "c"}}),
        (None, {"payload": {"op": "u", "before": {"id": 7, "name": "a"}, "after": {"id": 7, "name": "b"}},
                "schema": schema}),
        (None, {"schema": schema, "payload": {"before": {"id": 7, "name": "b"}, "after": None, "op": "d"}}),
    ])
    p = run(broker, "cdc_schema_print.sql")
    lines = [ln for ln in p.stdout.splitlines() if ln[:1] in "+-"]
    assert lines == ["+I[7, a]", "-U[7, a]", "+U[7, b]", "-D[7, b]"], p.stdout + p.stderr


def test_debezium_to_upsert_kafka_keys_and_tombstones(broker):
    bs = broker.bootstrap
    create_topic(bs, "cl_products_up", partitions=1)
    create_topic(bs, "cl_products_by_id", partitions=1)
    produce(broker, "cl_products_up", CHANGES)
    run(broker, "cdc_to_upsert.sql")
    msgs = sqltest.read_topic(bs, "cl_products_by_id", expect=5)
    got = [(m.key(), m.value()) for m in msgs]
    # -U is dropped; the +U overwrites key 1; the delete is a tombstone (null value)
    assert got == [
        (b'{"id":1}', b'{"id":1,"name":"scooter","weight":5.18}'),
        (b'{"id":2}', b'{"id":2,"name":"car","weight":900.5}'),
        (b'{"id":1}', b'{"id":1,"name":"scooter","weight":5.5}'),
        (b'{"id":2}', None),
        (b'{"id":3}', b'{"id":3,"name":"hammer","weight":0.75}'),
    ]


def test_debezium_to_debezium_envelope_as_flink(broker):
    bs = broker.bootstrap
    create_topic(bs, "cl_products_dbz", partitions=1)
    create_topic(bs, "cl_products_dbz_out", partitions=1)
    produce(broker, "cl_products_dbz", CHANGES)
    run(broker, "cdc_to_debezium.sql")
    got = [m.value() for m in sqltest.read_topic(bs, "cl_products_dbz_out", expect=6)]
    assert got == [
        b'{"before":null,"after":{"id":1,"name":"SCOOTER","weight":5.18},"op":"c"}',
        b'{"before":null,"after":{"id":2,"name":"CAR","weight":900.5},"op":"c"}',
        b'{"before":{"id":1,"name":"SCOOTER","weight":5.18},"after":null,"op":"d"}',
        b'{"before":null,"after":{"id":1,"name":"SCOOTER","weight":5.5},"op":"c"}',
        b'{"before":{"id":2,"name":"CAR","weight":900.5},"after":null,"op":"d"}',
        b'{"before":null,"after":{"id":3,"name":"HAMMER","weight":0.75},"op":"c"}',
    ]


def test_bad_debezium_records(broker, tmp_path):
    bs = broker.bootstrap
    create_topic(bs, "cl_bad_dbz", partitions=1)
    produce(broker, "cl_bad_dbz", [
        (None, {"before": None, "after": {"id": 1, "name": "ok"}, "op": "c"}),
        (None, {"before": None, "after": {"id": 2, "name": "x"}, "op": "z"}),
        (None, {"before": None, "after": {"id": 3, "name": "no before"}, "op": "u"}),
        (None, {"before": None, "after": {"id": 4, "name": "ok too"}, "op": "c"}),
    ])
    table = """CREATE TABLE t (id INT, name STRING) WITH ('connector' = 'kafka', 'topic' = 'cl_bad_dbz',
      'format' = 'debezium-json', %s 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
    CREATE TABLE o (id INT, name STRING) WITH ('connector' = 'print');
    INSERT INTO o SELECT * FROM t;"""
    p = run_script(broker, tmp_path, table % "", expect_rc=1)
    assert "topic cl_bad_dbz, partition 0, offset 1" in p.stderr, p.stderr
    assert 'unknown "op" value "z"' in p.stderr, p.stderr
    p = run_script(broker, tmp_path, table % "'debezium-json.ignore-parse-errors' = 'true',", expect_rc=0)
    assert [ln for ln in p.stdout.splitlines() if ln[:1] in "+-"] == ["+I[1, ok]", "+I[4, ok too]"], p.stdout
    # the dead-letter topic gets the two bad records as they were, saying where from and why
    create_topic(bs, "cl_bad_dbz_dead", partitions=1)
    p = run_script(broker, tmp_path, table % "'errors.dead-letter-topic' = 'cl_bad_dbz_dead',", expect_rc=0)
    assert [ln for ln in p.stdout.splitlines() if ln[:1] in "+-"] == ["+I[1, ok]", "+I[4, ok too]"], p.stdout
    dead = sqltest.read_topic(bs, "cl_bad_dbz_dead", expect=2)
    assert [json.loads(m.value())["op"] for m in dead] == ["z", "u"]
    hdrs = [dict(m.headers()) for m in dead]
    assert [h["__weir.errors.offset"] for h in hdrs] == [b"1", b"2"]
    assert b'the "before" field of a change event with "op": "u" is null' in hdrs[1]["__weir.errors.exception.message"]


@pytest.mark.parametrize("ddl, message", [
    ("CREATE TABLE u (id INT, v STRING) WITH ('connector' = 'upsert-kafka', 'topic' = 'cl_x', "
     "'key.format' = 'json', 'value.format' = 'json')",
     "table 'u': connector 'upsert-kafka' needs a primary key: declare PRIMARY KEY (...) NOT ENFORCED"),
    ("CREATE TABLE u (id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', "
     "'topic' = 'cl_x', 'value.format' = 'json')",
     "table 'u': connector 'upsert-kafka' needs option 'key.format'"),
    ("CREATE TABLE u (id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', "
     "'topic' = 'cl_x', 'key.format' = 'json', 'value.format' = 'json', 'key.fields' = 'id')",
     "unsupported option 'key.fields' for connector 'upsert-kafka'"),
    ("CREATE TABLE u (id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', "
     "'topic' = 'cl_x', 'key.format' = 'json', 'value.format' = 'debezium-json')",
     "connector 'upsert-kafka' takes an insert-only 'value.format'"),
    ("CREATE TABLE u (id INT, v STRING) WITH ('connector' = 'kafka', 'topic' = 'cl_x', 'format' = 'debezium-json', "
     "'debezium-json.schema-include' = 'true')",
     "the debezium-json format cannot write records with their schema"),
    ("CREATE TABLE u (id INT, v STRING) WITH ('connector' = 'kafka', 'topic' = 'cl_x', 'format' = 'debezium-json', "
     "'debezium-json.fail-on-missing-field' = 'true')",
     "unsupported option 'debezium-json.fail-on-missing-field'"),
])
def test_refused_at_planning(broker, tmp_path, ddl, message):
    p = run_script(broker, tmp_path, ddl + "; INSERT INTO u VALUES (1, 'a');", expect_rc=2)
    assert message in p.stderr, p.stderr


def test_group_aggregation_into_upsert_kafka(broker):
    """The updating query's final state, read back from the topic and compacted by key
    (a tombstone removes its key), equals SQLite's GROUP BY over the same rows."""
    import random
    import sqlite3
    bs = broker.bootstrap
    create_topic(bs, "cl_clicks", partitions=3)
    create_topic(bs, "cl_clicks_per_user", partitions=2)
    rnd = random.Random(5)
    rows = [("u%d" % rnd.randrange(12), "/p%d" % rnd.randrange(5)) for _ in range(400)]
    recs = [({"user_id": u}, {"user_id": u, "url": url}) for u, url in rows]
    for p in range(3):
        part = [r for i, r in enumerate(recs) if i % 3 == p]
        assert_delivered(produce_all(producer(bs), "cl_clicks", [{"key": enc(k), "value": enc(v)} for k, v in part],
                                     partition=p))
    run(broker, "counts_to_upsert.sql")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE clicks (user_id TEXT, url TEXT)")
    db.executemany("INSERT INTO clicks VALUES (?, ?)", rows)
    want = {u: n for u, n in db.execute("SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id")}
    # at least one record per key; the last one of each key is its final value
    msgs = sqltest.read_topic(bs, "cl_clicks_per_user", expect=len(want))
    state = {}
    for m in msgs:
        key = json.loads(m.key())
        assert set(key) == {"user_id"}
        if m.value() is None:
            state.pop(key["user_id"], None)
        else:
            v = json.loads(m.value())
            assert v["user_id"] == key["user_id"]
            state[key["user_id"]] = v["n"]
    assert state == want


def test_upsert_kafka_source_read_back(broker):
    """Keyed values and tombstones (one for a key never seen) read as an upsert stream and
    normalised: each key's first value +I, later ones -U/+U, a tombstone -D of the last
    row, a tombstone of an unknown key nothing."""
    create_topic(broker.bootstrap, "cl_users", partitions=1)
    produce(broker, "cl_users", [
        ({"user_id": "a"}, {"n": 1}),
        ({"user_id": "b"}, {"n": 2}),
        ({"user_id": "a"}, {"n": 3}),
        ({"user_id": "b"}, None),
        ({"user_id": "d"}, None),
        ({"user_id": "c"}, {"n": 5}),
    ])
    p = run(broker, "upsert_read.sql")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("u> ")]
    assert lines == ["u> +I[a, 1]", "u> +I[b, 2]", "u> -U[a, 1]", "u> +U[a, 3]", "u> -D[b, 2]", "u> +I[c, 5]"], \
        p.stdout + p.stderr
