-- Processing-time windows (the time column is PROCTIME(): rows go to windows by the clock
-- when they reach the operator) and aggregates over DISTINCT values.
CREATE TABLE clicks (url STRING, user_id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'test-source');

SELECT window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

SELECT url, window_start, window_end, COUNT(DISTINCT user_id) AS users, SUM(DISTINCT user_id) AS s,
       AVG(DISTINCT user_id) AS a, MAX(DISTINCT user_id) AS hi
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(pt), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY url, window_start, window_end;

SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(pt), INTERVAL '30' SECOND))
GROUP BY user_id, window_start, window_end;
