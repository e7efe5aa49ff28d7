-- a Top-N needs an upper bound on the row number
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT * FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY amount) AS rn FROM orders) WHERE rn > 2;
