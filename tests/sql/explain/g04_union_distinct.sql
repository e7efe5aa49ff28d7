-- UNION without ALL: the rows of UNION ALL, each distinct row once
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
CREATE TABLE customers (id BIGINT, city STRING) WITH ('connector' = 'test-source');
SELECT id FROM orders
UNION
SELECT id FROM customers;
