-- HOP and CUMULATE windows over the same out-of-order rows as w01 (split s of memtest
-- holds event times [10 s, 10 s + 10) shuffled; ids 0..39, k = id % 3).
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 3),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(MOD(id, 4) * 10 + MOD(id / 4 * 7, 10) AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '40', 'splits' = '4');

-- 20 s windows every 10 s: each row is in two
SELECT window_start, window_end, COUNT(*) AS n, SUM(id) AS total, MAX(id) AS hi
FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND))
GROUP BY window_start, window_end;

-- windows growing by 5 s up to 20 s, per key, with a filtered count
SELECT k, window_start, window_end, COUNT(*) AS n, COUNT(*) FILTER (WHERE id > 20) AS late_ids
FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND))
WHERE k = 1
GROUP BY window_start, window_end, k;
