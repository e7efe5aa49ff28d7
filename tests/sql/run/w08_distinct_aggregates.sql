-- Aggregates over DISTINCT values in TUMBLE windows of 10 s: ids 0..23 at id seconds, key
-- k = id % 2, value v = id % 6 (each key sees v = 0, 2, 4 or v = 1, 3, 5, repeated). Window
-- [0 s, 10 s) of key 0 holds ids 0, 2, 4, 6, 8: v = 0, 2, 4, 0, 2, so SUM(v) = 8 but the
-- distinct values sum to 6 (average 2); MIN and MAX are the same either way.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  v AS MOD(id, 6),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(id AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '24', 'splits' = '1');

SELECT k, window_start, SUM(v) AS s, SUM(DISTINCT v) AS sd, AVG(DISTINCT v) AS ad, COUNT(DISTINCT v) AS cd,
       MIN(DISTINCT v) AS lo, MAX(DISTINCT v) AS hi
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY k, window_start, window_end;
