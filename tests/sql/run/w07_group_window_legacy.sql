-- The legacy group-window syntax (GROUP BY TUMBLE(ts, size), HOP(ts, slide, size),
-- SESSION(ts, gap) with _START, _END and _ROWTIME) gives the rows of the window TVF form
-- over the same input: the queries below equal w01_tumble's first query, w02_hop_cumulate's
-- HOP query and w04_session's query.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 3),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(MOD(id, 4) * 10 + MOD(id / 4 * 7, 10) AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '40', 'splits' = '4');

SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS window_start, TUMBLE_END(ts, INTERVAL '10' SECOND) AS window_end, k,
       COUNT(*) AS n, SUM(id) AS total, MIN(id) AS lo, MAX(id) AS hi, AVG(id) AS mean
FROM ev
GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), k;

-- HOP(ts, slide, size): slide 10 s, size 20 s (w02_hop_cumulate's HOP query)
SELECT HOP_START(ts, INTERVAL '10' SECOND, INTERVAL '20' SECOND) AS window_start,
       HOP_END(ts, INTERVAL '10' SECOND, INTERVAL '20' SECOND) AS window_end, COUNT(*) AS n, SUM(id) AS total, MAX(id) AS hi
FROM ev
GROUP BY HOP(ts, INTERVAL '10' SECOND, INTERVAL '20' SECOND);

-- SESSION(ts, gap) per key, as w04_session (its table, renamed)
CREATE TABLE ev2 (
  id BIGINT,
  k AS MOD(id, 2),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN id = 5 THEN 1 WHEN id >= 12 THEN id + 10 ELSE id END AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '24', 'splits' = '1');

SELECT k, SESSION_START(ts, INTERVAL '3' SECOND) AS window_start, SESSION_END(ts, INTERVAL '3' SECOND) AS window_end,
       COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi, SUM(id) AS total
FROM ev2
GROUP BY k, SESSION(ts, INTERVAL '3' SECOND);

-- unaliased auxiliary functions are named EXPR$n, as Flink names them; _ROWTIME is the
-- window's time attribute (its end - 1 ms)
SELECT TUMBLE_START(ts, INTERVAL '10' SECOND), TUMBLE_ROWTIME(ts, INTERVAL '10' SECOND), COUNT(*)
FROM ev
GROUP BY TUMBLE(ts, INTERVAL '10' SECOND)
HAVING COUNT(*) > 5;
