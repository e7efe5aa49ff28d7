-- The Kafka-to-Kafka example of Apache Flink's documentation, run by Weir unmodified
-- except where said (tests/it/test_sql_flink_example.py points it at a test broker with
-- `weir sql -f ... --bootstrap-servers HOST:PORT` only).
--
-- Source: "Apache Kafka SQL Connector" (docs/content/docs/connectors/table/kafka.md of
-- apache/flink-connector-kafka; nightlies.apache.org/flink/.../connectors/table/kafka/),
-- section "How to create a Kafka table". Verbatim:
CREATE TABLE KafkaTable (
  `user_id` BIGINT,
  `item_id` BIGINT,
  `behavior` STRING,
  `ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
) WITH (
  'connector' = 'kafka',
  'topic' = 'user_behavior',
  'properties.bootstrap.servers' = 'localhost:9092',
  'properties.group.id' = 'testGroup',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'csv'
);

-- The same page, section "Key and Value Formats" / "Value Format": its column list and
-- format options are verbatim; the page elides the connection options with "...", which
-- are filled in from the table above (topic user_behavior_json), and the table is named
-- KafkaSink because the page names every example KafkaTable.
CREATE TABLE KafkaSink (
  `ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  `user_id` BIGINT,
  `item_id` BIGINT,
  `behavior` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'user_behavior_json',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

-- Flink's "CREATE Statements" page (docs/content/docs/dev/table/sql/create.md, "Metadata
-- Columns") writes a Kafka record's timestamp through a metadata column with
--   INSERT INTO MyTable SELECT user_id, name, record_time + INTERVAL '1' SECOND FROM MyTable;
-- The same statement between the two tables above (column order of KafkaSink):
INSERT INTO KafkaSink SELECT ts + INTERVAL '1' SECOND, user_id, item_id, behavior FROM KafkaTable;
