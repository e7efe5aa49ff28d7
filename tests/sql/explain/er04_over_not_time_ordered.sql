-- a streaming OVER window is ordered by a time attribute, ascending
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT id, SUM(amount) OVER (PARTITION BY name ORDER BY amount ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM orders;
