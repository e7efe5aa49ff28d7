-- SESSION windows per key with a 3 s gap: key k = id % 2; ids 0..23 in one split, event
-- time id seconds except a pause after id 11 (ids 12.. at id + 10 s), and id 5 says 1 s
-- (out of order, within the watermark's 5 s). Key 0 gets two sessions ([0 s, 13 s) and
-- [22 s, 35 s)); key 1 three, since 3 s -> 7 s is more than the gap: [1 s, 6 s) (ids 1, 3
-- and 5), [7 s, 14 s) and [23 s, 36 s). A session ends at its last row's time + the gap.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE WHEN id = 5 THEN 1 WHEN id >= 12 THEN id + 10 ELSE id END AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '24', 'splits' = '1');

SELECT k, window_start, window_end, COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi, SUM(id) AS total
FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' SECOND))
GROUP BY k, window_start, window_end;
