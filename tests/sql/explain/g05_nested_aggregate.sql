-- an aggregation over an aggregation: the outer one retracts (its aggregates print as
-- Flink's *_RETRACT functions)
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT cnt, COUNT(*) AS names, MIN(total) AS low, LISTAGG(name) AS who
FROM (SELECT name, COUNT(*) AS cnt, SUM(amount) AS total FROM orders GROUP BY name)
GROUP BY cnt;
