-- LISTAGG, FIRST_VALUE and LAST_VALUE in tumbling windows: one split, so each key's rows
-- arrive in id order (the order LISTAGG joins them and FIRST/LAST_VALUE pick by). v is
-- NULL for every third id: LISTAGG, FIRST_VALUE and LAST_VALUE skip NULLs, as Flink's.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 2),
  v AS CASE WHEN MOD(id, 3) = 0 THEN CAST(NULL AS STRING) ELSE CONCAT('v', CAST(id AS STRING)) END,
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(id AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '24', 'splits' = '1');

SELECT window_start, k, LISTAGG(v) AS vs, LISTAGG(CAST(id AS STRING), '|') FILTER (WHERE id > 3) AS ids,
       FIRST_VALUE(v) AS fv, LAST_VALUE(v) AS lv, FIRST_VALUE(id) AS fid, LAST_VALUE(id * 1.5) AS lid
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;

-- all values NULL in a window: NULL results (ids 0..2 with a FILTER keeping only id 0)
SELECT window_start, LISTAGG(v) FILTER (WHERE id = 0) AS vs, FIRST_VALUE(v) FILTER (WHERE id = 0) AS fv,
       LAST_VALUE(v) FILTER (WHERE id = 0) AS lv, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '12' SECOND))
GROUP BY window_start, window_end;
