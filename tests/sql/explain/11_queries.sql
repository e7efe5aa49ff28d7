-- Bare queries end in the terminal sink (the rows printed to the client).
CREATE TABLE t (id INT, name STRING, tags ARRAY<STRING>, info ROW<city STRING, zip INT>) WITH ('connector' = 'test-source');

SELECT * FROM t;

SELECT id AS ident, name FROM t;

SELECT id, info.city, tags[1] AS first_tag, -id AS neg, CASE WHEN id > 0 THEN 'pos' ELSE 'neg' END AS sign FROM t;

SELECT id FROM t WHERE name IS NULL OR id BETWEEN 1 AND 10;

SELECT TRY_CAST(name AS INT) AS n, COALESCE(name, 'none') AS name2 FROM t WHERE NOT (id = 3);

EXPLAIN PLAN FOR SELECT name FROM t WHERE id <> 0;
