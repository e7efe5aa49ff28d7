-- Tumbling windows over out-of-order event times: memtest gives ids 0..39 split by
-- split (id % 4), and ts puts split s in [10 s, 10 s + 10) in a shuffled order, so each
-- window fires (its rows appear) only once a later split moves the watermark past its end,
-- and the last one when the bounded source ends.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 3),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(MOD(id, 4) * 10 + MOD(id / 4 * 7, 10) AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '40', 'splits' = '4');

SELECT window_start, window_end, k, COUNT(*) AS n, SUM(id) AS total, MIN(id) AS lo, MAX(id) AS hi, AVG(id) AS mean
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;

-- no keys, COUNT(DISTINCT), FILTER, HAVING and an offset of 5 s
SELECT window_start, window_end, COUNT(DISTINCT k) AS ks, COUNT(*) FILTER (WHERE MOD(id, 2) = 0) AS evens, window_time
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '5' SECOND))
GROUP BY window_start, window_end, window_time
HAVING COUNT(*) > 2;
