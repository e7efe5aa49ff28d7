-- A global aggregate (one key), SELECT DISTINCT and UNION (each distinct row once).
CREATE TABLE src (
  id BIGINT,
  k AS MOD(id, 3),
  v AS CAST(id * 10 AS INT)
) WITH ('connector' = 'memtest', 'rows' = '12', 'splits' = '1', 'batch' = '5');

SELECT COUNT(*) AS n, SUM(v) AS total, MAX(v) AS top FROM src;

SELECT DISTINCT k FROM src;

SELECT k FROM src WHERE id < 3
UNION
SELECT k + 1 AS k FROM src WHERE id < 3;

-- aggregates without FROM: one row
SELECT COUNT(*) AS n, SUM(2) AS two;

-- GROUP BY over VALUES
SELECT n, COUNT(*) AS c, LISTAGG(w, '+') AS ws FROM (VALUES (1, 'a'), (2, 'b'), (1, 'c')) AS t(n, w) GROUP BY n;
