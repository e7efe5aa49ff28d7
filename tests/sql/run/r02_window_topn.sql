-- Window Top-N and window deduplication: rows of 4 splits, out of order across splits,
-- emitted once per window when the watermark passes its end. ts = id seconds except split
-- 3, whose rows go back to 0-9 s (as w03): the first window still gets them.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  v AS MOD(id * 7, 13),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN MOD(id, 4) = 3 THEN MOD(id, 10) ELSE id END AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '30', 'splits' = '4');

-- the two largest v of each 10-second window and key
SELECT window_start, k, id, v, rownum FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY v DESC) AS rownum
  FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
) WHERE rownum <= 2;

-- the first row of each window and key (window deduplication)
SELECT window_start, window_end, k, id, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY ts) AS rownum
  FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
) WHERE rownum = 1;

-- the key with the larger sum per window, over a window aggregation
SELECT window_start, k, total FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY total DESC) AS rownum
  FROM (
    SELECT window_start, window_end, k, SUM(v) AS total
    FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY window_start, window_end, k
  )
) WHERE rownum <= 1;
