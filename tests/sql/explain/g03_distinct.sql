-- SELECT DISTINCT: a GroupAggregate keyed by the items, without aggregates
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT DISTINCT name FROM orders;

SELECT DISTINCT name, amount * 2 AS twice FROM orders WHERE id > 3;

-- DISTINCT over an aggregation: one GroupAggregate over the other
SELECT DISTINCT COUNT(*) AS n FROM orders GROUP BY name;
