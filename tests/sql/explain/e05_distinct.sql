CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT DISTINCT name FROM orders;
