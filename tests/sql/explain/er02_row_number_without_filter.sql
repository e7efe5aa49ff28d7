-- ROW_NUMBER() needs a bound on its result in an outer query (Top-N), as in Flink
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY ts) AS rn FROM orders;
