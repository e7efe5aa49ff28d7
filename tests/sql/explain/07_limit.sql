-- LIMIT and OFFSET across the whole job.
CREATE TABLE t (id INT, name STRING) WITH ('connector' = 'test-source');

SELECT id FROM t LIMIT 10;

SELECT id, name FROM t WHERE id > 3 LIMIT 5 OFFSET 2;

SELECT * FROM (SELECT name FROM t LIMIT 100) AS s WHERE name <> '';

SELECT * FROM t LIMIT 0;
