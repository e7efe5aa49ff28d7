-- Watermarks are per split, as Flink's per-partition watermarks: memtest reads split 0
-- (event times 0-9 s), then 1 (10-19 s), 2 (20-29 s) and last split 3, whose rows go back
-- to 0-9 s. Split 3 has its own watermark, which holds window [0 s, 10 s) open until its
-- rows came: none is late, and that window counts 20 rows.
CREATE TABLE ev (
  id BIGINT,
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN MOD(id, 4) = 3 THEN 0 ELSE MOD(id, 4) * 10 END + MOD(id / 4 * 7, 10) AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '40', 'splits' = '4');

SELECT window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

-- Within one split, a row behind the watermark is late: ids 0..39 in order at id seconds,
-- but id 30 says 1 s. The watermark is 24 s by then (29 s - 5 s), window [0 s, 10 s) has
-- fired, so that row is counted as late and left out: the first window keeps 10 rows and
-- [30 s, 40 s) has 9.
CREATE TABLE one (
  id BIGINT,
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN id = 30 THEN 1 ELSE id END AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '40', 'splits' = '1');

SELECT window_start, window_end, COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi
FROM TABLE(TUMBLE(TABLE one, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

EXPLAIN SELECT window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
