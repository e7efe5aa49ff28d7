-- debezium-json in, print out: every Debezium op becomes rows of its kinds
-- (c/r: +I; u: -U then +U; d: -D), printed as Flink prints them.
SET 'parallelism.default' = '1';
CREATE TABLE products (id INT, name STRING, weight DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'cl_products', 'format' = 'debezium-json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE shown (id INT, name STRING, weight DOUBLE) WITH ('connector' = 'print', 'print-identifier' = 'cdc');
INSERT INTO shown SELECT id, name, weight FROM products;
