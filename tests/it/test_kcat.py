"""kcat (librdkafka 2.0.2) against Weir: metadata listing, producing lines with keys and
headers, and reading them back exactly, with every compression codec."""

import json
import subprocess

import pytest

from conftest import assert_stored_codec, create_topic

KCAT_TIMEOUT = 60


def kcat(*args, input=None, check=True):
    p = subprocess.run(["kcat", *args], input=input, capture_output=True,
                       timeout=KCAT_TIMEOUT)
    if check and p.returncode != 0:
        pytest.fail("kcat %s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")), pytrace=False)
    return p


def test_list_metadata(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    p = kcat("-b", broker.bootstrap, "-L", "-J", "-m", "10")
    md = json.loads(p.stdout)
    assert [(b["name"]) for b in md["brokers"]] == ["127.0.0.1:%d" % broker.port]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, "kcat -L does not list %s: %s" % (topic, sorted(topics))
    parts = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in parts) == [0, 1, 2]
    broker_id = md["brokers"][0]["id"]
    for p in parts:
        assert p["leader"] == broker_id
        assert [r["id"] for r in p["replicas"]] == [broker_id]
        assert [r["id"] for r in p["isrs"]] == [broker_id]
    # the plain-text listing a user reads
    text = kcat("-b", broker.bootstrap, "-L", "-t", topic, "-m", "10").stdout.decode()
    assert "1 brokers:" in text
    assert 'topic "%s" with 3 partitions:' % topic in text


def produce_and_read(broker, topic, lines, extra_produce=(), headers=()):
    data = "".join(l + "\n" for l in lines).encode()
    hargs = []
    for h in headers:
        hargs += ["-H", h]
    kcat("-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K:", *hargs,
         *extra_produce, input=data)
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning",
               "-e", "-q", "-f", "%k|%s|%h|%o\\n").stdout.decode()
    return out.splitlines()


def test_produce_keys_headers_and_consume(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    lines = ["key%d:value number %d" % (i, i) for i in range(50)]
    got = produce_and_read(broker, topic, lines, headers=["h1=v1", "trace=abc"])
    want = ["key%d|value number %d|h1=v1,trace=abc|%d" % (i, i, i) for i in range(50)]
    assert got == want


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_round_trip(broker, topic, codec):
    create_topic(broker.bootstrap, topic, partitions=1)
    lines = ["k%d:%s-%d-%s" % (i, codec, i, "x" * (i % 37)) for i in range(200)]
    got = produce_and_read(broker, topic, lines,
                           extra_produce=["-X", "compression.codec=%s" % codec,
                                          "-X", "linger.ms=50"],
                           headers=["codec=%s" % codec])
    want = ["k%d|%s-%d-%s|codec=%s|%d" % (i, codec, i, "x" * (i % 37), codec, i)
            for i in range(200)]
    assert got == want
    assert_stored_codec(broker, topic, 0, codec)


def test_consume_from_offset_and_end(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    lines = ["k%d:v%d" % (i, i) for i in range(10)]
    produce_and_read(broker, topic, lines)
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "7", "-e", "-q",
               "-f", "%k|%s|%o\\n").stdout.decode().splitlines()
    assert out == ["k7|v7|7", "k8|v8|8", "k9|v9|9"]
    # -o -2: the last two
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "-2", "-e", "-q",
               "-f", "%s\\n").stdout.decode().splitlines()
    assert out == ["v8", "v9"]
