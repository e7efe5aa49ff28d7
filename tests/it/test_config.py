"""The command line and configuration: help texts, and `weir serve` refusing unknown keys
and bad values (from a properties file or a WEIR_ variable) with a message naming the key
instead of starting with a surprise."""

import os
import subprocess

import pytest

import kproto
from conftest import broker_env, free_port, require_bin, start_broker, wait_until


def run_weir(*args, env=None, cwd=None, timeout=20):
    return subprocess.run([require_bin(), *args], capture_output=True, text=True,
                          env=broker_env(env or {}), cwd=cwd, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_help():
    p = run_weir("--help")
    assert p.returncode == 0, p.stderr
    assert "usage" in (p.stdout + p.stderr).lower()
    assert "serve" in p.stdout + p.stderr


def test_serve_help():
    p = run_weir("serve", "--help")
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    assert "usage" in out.lower()
    for key in ("listeners", "log.dirs", "num.partitions", "auto.create.topics.enable",
                "message.max.bytes", "socket.request.max.bytes"):
        assert key in out, "serve --help does not mention %s" % key


def test_unknown_command():
    p = run_weir("no-such-command")
    assert p.returncode != 0
    assert "no-such-command" in p.stderr or "usage" in p.stderr.lower()


def serve_must_fail(tmp_path, args=(), env=None, mention=(), defaults=True):
    env = dict(env or {})
    if defaults:
        env.setdefault("WEIR_LISTENERS", "PLAINTEXT://127.0.0.1:%d" % free_port())
        env.setdefault("WEIR_LOG_DIRS", str(tmp_path / "data"))
    try:
        p = run_weir("serve", *args, env=env, cwd=str(tmp_path), timeout=15)
    except subprocess.TimeoutExpired as e:
        pytest.fail("weir serve kept running with a bad configuration; stderr:\n%s" % (
            e.stderr.decode(errors="replace") if e.stderr else ""), pytrace=False)
    assert p.returncode != 0, "weir serve started (or exited 0) with a bad configuration:\n" \
        "stdout:%s\nstderr:%s" % (p.stdout, p.stderr)
    for m in mention:  # a string, or a tuple of acceptable alternatives
        alts = m if isinstance(m, tuple) else (m,)
        assert any(a in p.stderr for a in alts), "stderr does not name %r:\n%s" % (m, p.stderr)
    return p


def test_unknown_key_in_properties_file(tmp_path):
    cfg = tmp_path / "weir.properties"
    cfg.write_text("# a comment\nnum.partitions=2\nno.such.key=1\n")
    serve_must_fail(tmp_path, args=("--config", str(cfg)), mention=("no.such.key",))


def test_unknown_weir_env_var(tmp_path):
    serve_must_fail(tmp_path, env={"WEIR_NO_SUCH_KEY": "1"},
                    mention=("WEIR_NO_SUCH_KEY",))


def test_bad_value_env(tmp_path):
    serve_must_fail(tmp_path, env={"WEIR_NUM_PARTITIONS": "abc"},
                    mention=("num.partitions",))


@pytest.mark.parametrize("key,value", [
    ("num.partitions", "0"),
    ("num.partitions", "-3"),
    ("message.max.bytes", "12x"),
    ("auto.create.topics.enable", "maybe"),
    ("listeners", "http://127.0.0.1:1"),
    ("log.message.timestamp.type", "Sometimes"),
])
def test_bad_value_in_file(tmp_path, key, value):
    cfg = tmp_path / "bad.properties"
    good = {"listeners": "PLAINTEXT://127.0.0.1:%d" % free_port(),
            "log.dirs": str(tmp_path / "data")}
    good[key] = value
    cfg.write_text("".join("%s=%s\n" % kv for kv in good.items()))
    # the message names the key (a listener URL it may quote instead)
    named = (key, value) if key == "listeners" else key
    serve_must_fail(tmp_path, args=("--config", str(cfg)), mention=(named,), defaults=False)


def test_missing_config_file(tmp_path):
    serve_must_fail(tmp_path, args=("--config", str(tmp_path / "absent.properties")),
                    mention=("absent.properties",))


def test_port_in_use(tmp_path, broker):
    serve_must_fail(tmp_path, env={"WEIR_LISTENERS": "PLAINTEXT://127.0.0.1:%d" % broker.port})


def test_config_file_applies_and_env_overrides(tmp_path):
    port = free_port()
    cfg = tmp_path / "weir.properties"
    cfg.write_text("listeners=PLAINTEXT://127.0.0.1:%d\nnum.partitions=5\n"
                   "auto.create.topics.enable=true\nlog.dirs=%s\n" % (port, tmp_path / "d"))
    env = broker_env({"WEIR_NUM_PARTITIONS": "4"})
    with open(tmp_path / "log", "wb") as log:
        proc = subprocess.Popen([require_bin(), "serve", "--config", str(cfg)], env=env,
                                stdout=log, stderr=log, cwd=str(tmp_path),
                                stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or kproto.probe(port), timeout=20,
                   what="broker from a properties file")
        assert proc.poll() is None, (tmp_path / "log").read_text()
        with kproto.Conn(port) as c:
            md = kproto.metadata(c, ["auto-made"])  # auto-creation takes num.partitions
            t = md["topics"].get("auto-made")
            if not t or t["error"] != 0:
                md = wait_until(lambda: (lambda m: m if m["topics"]["auto-made"]["error"] == 0
                                         else None)(kproto.metadata(c, ["auto-made"])),
                                timeout=10, what="auto-created topic")
            assert len(md["topics"]["auto-made"]["partitions"]) == 4
        assert os.path.isdir(tmp_path / "d")
    finally:
        proc.terminate()
        proc.wait(15)


def test_weir_properties_in_cwd(tmp_path):
    """Without --config, ./weir.properties is read."""
    (tmp_path / "weir.properties").write_text("no.such.key=1\n")
    serve_must_fail(tmp_path, mention=("no.such.key",))


def test_restart_keeps_topics_and_data(tmp_path):
    from clients import consume_all, produce_all, producer, assert_delivered
    from conftest import create_topic
    b = start_broker(tmp_path)
    try:
        create_topic(b.bootstrap, "kept", partitions=2, config={"retention.ms": "123456789"})
        recs = [dict(key=b"k%d" % i, value=b"v%d" % i, headers=[]) for i in range(100)]
        assert_delivered(produce_all(producer(b.bootstrap), "kept", recs, partition=1))
        b.restart()
        msgs = consume_all(b.bootstrap, "kept", 1, expect=100)
        assert [(m.offset(), m.key(), m.value()) for m in msgs] == \
            [(i, r["key"], r["value"]) for i, r in enumerate(recs)]
        # new records continue the offsets
        assert_delivered(produce_all(producer(b.bootstrap), "kept", recs[:1], partition=1))
        assert consume_all(b.bootstrap, "kept", 1, offset=100, expect=1)[0].offset() == 100
    finally:
        if b.alive():
            b.stop()
