-- An aggregate of a rowtime column is a plain timestamp: time bounds on it make a regular
-- join with a residual condition, not an interval join.
CREATE TABLE orders (id BIGINT, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT a.id FROM (SELECT id, MAX(ts) AS ts FROM orders GROUP BY id) AS a
JOIN orders AS b ON a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;
