-- Group aggregation emits a changelog: memtest gives ids 0..11 on one split, 4 rows a
-- read, and each key emits once per batch that touches it: +I for its first result, then
-- -U old / +U new.
CREATE TABLE src (
  id BIGINT,
  k AS MOD(id, 3),
  v AS CAST(id * 10 AS INT),
  s AS CONCAT('s', CAST(MOD(id, 2) AS STRING))
) WITH ('connector' = 'memtest', 'rows' = '12', 'splits' = '1', 'batch' = '4');

SELECT k, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS low, MAX(s) AS top, AVG(v) AS mean, COUNT(DISTINCT s) AS kinds
FROM src
GROUP BY k;

-- an unchanged result emits nothing: MAX(s) per k stays once both values are seen
SELECT k, MAX(s) AS top FROM src GROUP BY k;

-- FILTER, DISTINCT SUM, HAVING, a computed key, LISTAGG / FIRST_VALUE / LAST_VALUE
SELECT k + 1 AS k1, SUM(DISTINCT MOD(id, 2)) AS odd, COUNT(*) FILTER (WHERE id > 5) AS late,
       LISTAGG(CAST(id AS STRING), '-') AS ids, FIRST_VALUE(id) AS f, LAST_VALUE(id) AS l
FROM src
WHERE id <> 4
GROUP BY k + 1
HAVING COUNT(*) > 1;
