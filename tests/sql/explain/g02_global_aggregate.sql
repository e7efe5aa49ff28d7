-- aggregates without GROUP BY: one group, every row to one worker
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT COUNT(*) AS n FROM orders;

SELECT 1 AS one FROM orders HAVING MAX(amount) > 1;
