-- debezium-json in, debezium-json out: the envelope Flink's serializer writes
-- (+I/+U as "op":"c" with "after", -U/-D as "op":"d" with "before").
CREATE TABLE products (id INT, name STRING, weight DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'cl_products_dbz', 'format' = 'debezium-json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE products_copy (id INT, name STRING, weight DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'cl_products_dbz_out', 'format' = 'debezium-json'
);
INSERT INTO products_copy SELECT id, UPPER(name), weight FROM products;
