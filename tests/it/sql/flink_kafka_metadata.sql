-- Source: Apache Flink's "Apache Kafka SQL Connector" page (docs/content/docs/connectors/
-- table/kafka.md of apache/flink-connector-kafka), section "Available Metadata": the
-- extended CREATE TABLE example, verbatim (read with `weir sql -f ... --bootstrap-servers`
-- by tests/it/test_sql_flink_example.py; the SELECT is ours).
CREATE TABLE KafkaTable (
  `event_time` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  `partition` BIGINT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  `user_id` BIGINT,
  `item_id` BIGINT,
  `behavior` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'user_behavior',
  'properties.bootstrap.servers' = 'localhost:9092',
  'properties.group.id' = 'testGroup',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'csv'
);

SELECT `partition`, `offset`, user_id, item_id, behavior, event_time FROM KafkaTable;
