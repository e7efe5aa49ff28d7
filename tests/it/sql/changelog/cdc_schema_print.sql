-- debezium-json with 'debezium-json.schema-include': records wrapped in
-- {"schema": ..., "payload": ...}, as Kafka Connect writes them with schemas enabled.
SET 'parallelism.default' = '1';
CREATE TABLE products_s (id INT, name STRING) WITH (
  'connector' = 'kafka', 'topic' = 'cl_products_schema', 'format' = 'debezium-json',
  'debezium-json.schema-include' = 'true',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE shown_s (id INT, name STRING) WITH ('connector' = 'print');
INSERT INTO shown_s SELECT id, name FROM products_s;
