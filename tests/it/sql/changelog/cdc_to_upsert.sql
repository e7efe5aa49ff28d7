-- debezium-json changes into an upsert-kafka table: +I/+U write the row under its key,
-- -D writes a tombstone, -U is dropped.
CREATE TABLE products (id INT, name STRING, weight DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'cl_products_up', 'format' = 'debezium-json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE products_by_id (id INT, name STRING, weight DOUBLE, PRIMARY KEY (id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'cl_products_by_id', 'key.format' = 'json', 'value.format' = 'json'
);
INSERT INTO products_by_id SELECT id, name, weight FROM products;
