"""One consumer-group member in its own process, for tests/it/test_groups.py: joins
`group` on `topic` with the client named on the command line (confluent-kafka or
kafka-python), prints one JSON line per assignment ({"assigned": [[topic, p], ...]}) and
per record ({"p": partition, "o": offset, "v": value}), commits each record synchronously
after printing it, and leaves when its stdin closes (or dies when it is killed).

usage: group_member.py confluent|kafka-python BOOTSTRAP TOPIC GROUP [STRATEGY [INSTANCE_ID]]
"""

import json
import sys
import threading


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def watch_stdin(stop):
    sys.stdin.read()
    stop.set()


def run_confluent(bootstrap, topic, group, strategy, instance_id=None):
    from confluent_kafka import Consumer, TopicPartition
    extra = {"group.instance.id": instance_id} if instance_id else {}
    c = Consumer({**extra, "bootstrap.servers": bootstrap, "group.id": group, "client.id": "weir-it-confluent",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                  "partition.assignment.strategy": strategy, "fetch.wait.max.ms": 100})

    def on_assign(consumer, parts):
        emit({"assigned": sorted([p.topic, p.partition] for p in parts)})

    c.subscribe([topic], on_assign=on_assign)
    stop = threading.Event()
    threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    while not stop.is_set():
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        emit({"p": m.partition(), "o": m.offset(), "v": m.value().decode()})
        c.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)], asynchronous=False)
    c.close()


def run_kafka_python(bootstrap, topic, group, strategy, instance_id=None):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    assignor = RoundRobinPartitionAssignor if strategy == "roundrobin" else RangePartitionAssignor
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id="weir-it-kafka-python",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=10000, heartbeat_interval_ms=500,
                      partition_assignment_strategy=[assignor], request_timeout_ms=15000,
                      fetch_max_wait_ms=100)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, assigned):
            emit({"assigned": sorted([p.topic, p.partition] for p in assigned)})

    c.subscribe([topic], listener=Listener())
    stop = threading.Event()
    threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    while not stop.is_set():
        for tp, msgs in c.poll(timeout_ms=200).items():
            for m in msgs:
                emit({"p": m.partition, "o": m.offset, "v": m.value.decode()})
                c.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(m.offset + 1, None)})
    c.close()


if __name__ == "__main__":
    client, bootstrap, topic, group = sys.argv[1:5]
    strategy = sys.argv[5] if len(sys.argv) > 5 else "range"
    instance_id = sys.argv[6] if len(sys.argv) > 6 else None
    run = {"confluent": run_confluent, "kafka-python": run_kafka_python}[client]
    run(bootstrap, topic, group, strategy, instance_id)
