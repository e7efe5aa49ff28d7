-- an updating query into an append-only table is refused, saying why and what to use
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
CREATE TABLE totals (name STRING, total INT) WITH ('connector' = 'test-sink');
INSERT INTO totals
SELECT name, SUM(amount) FROM orders GROUP BY name;
