-- OVER aggregation on event time: rows wait for the watermark and are processed in time
-- order per key, whatever order they came in: ids 0, 1, 2, 3, 4... carry 2, 3, 0, 1, 6, 5... s
-- (within key k = id mod 2 each pair of rows comes in reverse time order).
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  v AS MOD(id * 7, 13),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN MOD(id, 4) < 2 THEN id + 2 ELSE id - 2 END AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH ('connector' = 'memtest', 'rows' = '12', 'splits' = '1');

SELECT k, id, ts, v,
       SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s2,
       COUNT(*) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS n2,
       MAX(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS m2
FROM ev;

-- a RANGE of 4 seconds, and the running totals (UNBOUNDED PRECEDING)
SELECT k, id, ts,
       SUM(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '4' SECOND PRECEDING AND CURRENT ROW) AS s4,
       AVG(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '4' SECOND PRECEDING AND CURRENT ROW) AS a4
FROM ev;

SELECT k, id, SUM(v) OVER (PARTITION BY k ORDER BY ts) AS total, MIN(v) OVER (PARTITION BY k ORDER BY ts) AS low,
       FIRST_VALUE(id) OVER (PARTITION BY k ORDER BY ts) AS first_id
FROM ev;
