"""Node clients against Weir: kafkajs 2.2.4 (no flexible versions: ApiVersions v2,
Produce <= 7, Metadata <= 6) and @platformatic/kafka 1.35.0 (only flexible versions, strict
option validation). The scripts in tests/it/js print one JSON line that is asserted here;
what they produced is read back byte for byte with confluent-kafka."""

import base64
import json
import os
import shutil
import subprocess

import pytest

from clients import consume_all
from conftest import admin, assert_stored_codec

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def node_ok():
    if not shutil.which("node"):
        return False
    v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    major, minor, patch = (int(x) for x in v.lstrip("v").split(".")[:3])
    return (major, minor, patch) >= (20, 19, 4)


@pytest.fixture(scope="module", autouse=True)
def node_installed():
    """The node clients are part of the suite: a missing or old node fails it (run
    scripts/deps), it never skips it."""
    assert node_ok(), "node >= 20.19.4 is needed for @platformatic/kafka: run scripts/deps"
    assert os.path.isdir(os.path.join(JS, "node_modules")), "tests/it/js/node_modules missing: run scripts/deps"


def run_js(script, *args, timeout=90):
    p = subprocess.run(["node", os.path.join(JS, script), *args], capture_output=True,
                       text=True, timeout=timeout, cwd=JS)
    lines = p.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if p.returncode != 0 or result is None or "error" in result:
        pytest.fail("node %s %s exited %d\nresult: %s\nstderr (tail):\n%s" % (
            script, " ".join(args), p.returncode,
            json.dumps(result, indent=1)[:4000] if result else p.stdout[:4000],
            p.stderr[-4000:]), pytrace=False)
    return result


def b64(s):
    return None if s is None else base64.b64decode(s)


def broker_id(bootstrap):
    return list(admin(bootstrap).list_topics(timeout=10).brokers)[0]


# ---------------------------------------------------------------- kafkajs

def test_kafkajs_admin_produce_offsets_delete(broker, topic):
    r = run_js("kafkajs_client.mjs", "produce", broker.bootstrap, topic)
    bid = broker_id(broker.bootstrap)
    assert r["created"] is True
    assert r["createdAgain"] is False, "createTopics on an existing topic must report false"
    assert r["listed"] is True
    assert r["metadata"] == [{"name": topic, "partitions": [
        {"partitionId": 0, "leader": bid, "partitionErrorCode": 0},
        {"partitionId": 1, "leader": bid, "partitionErrorCode": 0}]}]
    assert r["describeErrorCode"] == 0
    assert r["retention"] == "7200000"
    assert r["acks"] == [[{"partition": 0, "errorCode": 0, "baseOffset": "0"}],
                         [{"partition": 0, "errorCode": 0, "baseOffset": "300"}]]
    assert r["offsets"] == [{"partition": 0, "offset": "600", "high": "600", "low": "0"},
                            {"partition": 1, "offset": "0", "high": "0", "low": "0"}]
    ts = r["byTimestamp"]
    assert [p["offset"] for p in ts["before"]] == ["0", "0"]
    assert [p["offset"] for p in ts["mid"]] == ["150", "0"]
    assert [p["offset"] for p in ts["gzipStart"]] == ["300", "0"]
    assert [p["offset"] for p in ts["after"]] == ["600", "0"]

    msgs = consume_all(broker.bootstrap, topic, 0, expect=600)
    got = [(m.offset(), m.key(), m.value(), sorted(m.headers() or []), m.timestamp()[1])
           for m in msgs]
    want = [(i, s["key"].encode(), s["value"].encode(),
             sorted((k, v.encode()) for k, v in s["headers"].items()), int(s["timestamp"]))
            for i, s in enumerate(r["sent"])]
    assert got == want
    assert_stored_codec(broker, topic, 0, "none", librdkafka=False, upto=300)
    assert_stored_codec(broker, topic, 0, "gzip", librdkafka=False, offset=300)

    d = run_js("kafkajs_client.mjs", "delete", broker.bootstrap, topic)
    assert d["listed"] is False
    assert d["deleteAgain"] != "ok", "deleting a deleted topic succeeded"
    assert topic not in admin(broker.bootstrap).list_topics(timeout=10).topics


# ---------------------------------------------------------------- @platformatic/kafka

def test_platformatic_admin_produce_fetch(broker, topic):
    r = run_js("platformatic_client.mjs", "roundtrip", broker.bootstrap, topic)
    bid = broker_id(broker.bootstrap)
    assert r["created"] == [{"name": topic, "partitions": 2, "replicas": 1}]
    assert "TOPIC_ALREADY_EXISTS" in r["createdAgain"], r["createdAgain"]
    assert r["partitionsCount"] == 3, "createPartitions to 3 not visible in metadata"
    assert r["leaders"] == [bid, bid, bid]
    assert r["brokers"] == [broker.bootstrap]
    assert r["listed"] is True
    assert r["retention"] is not None and int(r["retention"]) != 0
    assert {"none", "gzip", "snappy", "lz4"} <= set(r["codecs"]), r["codecs"]
    n = len(r["sent"])
    assert n == 200 * len(r["codecs"])
    assert r["offsets"] == [[{"partition": 1, "offset": 200 * i}]
                            for i in range(len(r["codecs"]))]
    assert r["latest"] == [0, n, 0]
    assert r["earliest"] == [0, 0, 0]
    assert r["byTimestamp"] == 250
    assert [x["offset"] for x in r["read"]] == list(range(n))
    assert [{k: x[k] for k in ("key", "value", "headers", "timestamp")} for x in r["read"]] == \
        r["sent"]
    assert r["readFrom117"]["offset"] == 117
    assert r["readFrom117"]["value"] == r["sent"][117]["value"]

    # a second, independent reader: librdkafka
    msgs = consume_all(broker.bootstrap, topic, 1, expect=n)
    got = [(m.key(), m.value(), m.headers() or [], m.timestamp()[1]) for m in msgs]
    want = [(b64(s["key"]), b64(s["value"]),
             [(b64(k).decode(), b64(v)) for k, v in s["headers"]], s["timestamp"])
            for s in r["sent"]]
    assert got == want
    for i, codec in enumerate(r["codecs"]):
        assert_stored_codec(broker, topic, 1, codec, librdkafka=False, offset=200 * i,
                            upto=200 * (i + 1))

    d = run_js("platformatic_client.mjs", "delete", broker.bootstrap, topic)
    assert d["listed"] is False
