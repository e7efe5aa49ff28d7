CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
CREATE TABLE customers (id BIGINT, city STRING) WITH ('connector' = 'test-source');
SELECT o.id FROM orders AS o, customers AS c;
