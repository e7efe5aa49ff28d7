-- LISTAGG, FIRST_VALUE and LAST_VALUE over SESSION windows (3 s gap) that merge: ids
-- 0..7 of one key at 0, 10, 5, 20, 14, 30, 31, 17 s (one split, so in id order). Id 2
-- (5 s) reaches neither [0 s, 3 s) nor [10 s, 13 s); id 7 (17 s) joins [14 s, 17 s) (id 4)
-- with [20 s, 23 s) (id 3). Merged sessions join their lists in the order they began
-- (3-4-7); FIRST_VALUE and LAST_VALUE keep the values that arrived first and last.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(CASE id WHEN 0 THEN 0 WHEN 1 THEN 10 WHEN 2 THEN 5 WHEN 3 THEN 20
                                               WHEN 4 THEN 14 WHEN 5 THEN 30 WHEN 6 THEN 31 ELSE 17 END AS INT),
                          TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '30' SECOND
) WITH ('connector' = 'memtest', 'rows' = '8', 'splits' = '1');

SELECT window_start, window_end, LISTAGG(CAST(id AS STRING), '-') AS ids, FIRST_VALUE(id) AS fid,
       LAST_VALUE(id) AS lid, COUNT(*) AS n
FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), INTERVAL '3' SECOND))
GROUP BY window_start, window_end;

-- COUNT(DISTINCT) over SESSION windows (7 s gap) per key k = id % 2, of id % 3: the
-- sessions' sets of values merge with them. Key 1: id 7 (17 s) bridges [10 s, 17 s) (id 1,
-- value 1) and [20 s, 27 s) (id 3, value 0) and brings value 1 again: 2 distinct values.
SELECT k, window_start, window_end, COUNT(DISTINCT MOD(id, 3)) AS vs, COUNT(*) AS n,
       COUNT(DISTINCT MOD(id, 3)) FILTER (WHERE id > 2) AS late_vs
FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '7' SECOND))
GROUP BY k, window_start, window_end;
