-- An aggregation over an aggregation consumes a changelog: each -U of the inner one
-- retracts a row of the outer one, and a count bucket that empties is deleted (-D).
CREATE TABLE src (
  id BIGINT,
  k AS MOD(id, 3),
  v AS CAST(id * 10 AS INT)
) WITH ('connector' = 'memtest', 'rows' = '9', 'splits' = '1', 'batch' = '3');

SELECT cnt, COUNT(*) AS keys, MIN(total) AS low, MAX(total) AS high, SUM(total) AS sum_total
FROM (SELECT k, COUNT(*) AS cnt, SUM(v) AS total FROM src GROUP BY k)
GROUP BY cnt;

-- MIN/MAX, LISTAGG, FIRST_VALUE and LAST_VALUE under retraction, and DISTINCT
SELECT MIN(total) AS low, MAX(total) AS high, LISTAGG(CAST(total AS STRING)) AS totals,
       FIRST_VALUE(k) AS f, LAST_VALUE(k) AS l, COUNT(DISTINCT cnt) AS cnts
FROM (SELECT k, COUNT(*) AS cnt, SUM(v) AS total FROM src GROUP BY k);
