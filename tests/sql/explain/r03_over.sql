-- OVER aggregation: ROWS and RANGE frames over an event-time or processing-time attribute,
-- as Flink's OverAggregate (the frame printed as Flink prints it, "RANG" included). This was
-- e08_over, refused before OVER existed.
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), pt AS PROCTIME(),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');

-- the running count per name (no frame: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
SELECT id, COUNT(*) OVER (PARTITION BY name ORDER BY ts) AS n FROM orders;

-- the last three rows, and the last hour, of each name; two aggregates over one window
SELECT name, ts, amount,
       SUM(amount) OVER (PARTITION BY name ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS last3,
       MAX(amount) OVER (PARTITION BY name ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) + 1 AS top3
FROM orders WHERE amount > 0;

SELECT name, AVG(amount) OVER (PARTITION BY name ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS avg1h,
       MIN(amount) OVER (PARTITION BY name ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS min1h
FROM orders;

-- processing time, no PARTITION BY, FIRST_VALUE / LAST_VALUE
SELECT id, FIRST_VALUE(name) OVER (ORDER BY pt ROWS UNBOUNDED PRECEDING) AS first_name,
       LAST_VALUE(amount) OVER (ORDER BY pt ROWS UNBOUNDED PRECEDING) AS last_amount
FROM orders;
