CREATE TABLE clicks (url STRING, pt AS PROCTIME()) WITH ('connector' = 'test-source');
SELECT window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
