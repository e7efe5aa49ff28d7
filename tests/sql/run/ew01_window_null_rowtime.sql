-- A NULL event time cannot be put in a window: the job fails naming the column (as Flink).
CREATE TABLE ev (
  id BIGINT,
  ts AS CAST(CASE WHEN id = 3 THEN NULL ELSE TIMESTAMPADD(SECOND, CAST(id AS INT), TIMESTAMP '2024-01-01 00:00:00') END AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts
) WITH ('connector' = 'memtest', 'rows' = '10', 'splits' = '1');

SELECT window_start, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
