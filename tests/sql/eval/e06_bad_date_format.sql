-- a pattern letter Java does not know fails, naming the function and where
SELECT DATE_FORMAT(ts, 'yyyy-qq')
FROM (VALUES (TIMESTAMP '2024-01-01 00:00:00')) AS t(ts);
