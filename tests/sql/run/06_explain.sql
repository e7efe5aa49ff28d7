-- EXPLAIN prints the physical plan
CREATE TABLE src (id INT, name STRING, amount DECIMAL(10, 2), doubled AS amount * 2) WITH ('connector' = 'memtest');
CREATE TABLE dst (id INT, name STRING) WITH ('connector' = 'memtest');
EXPLAIN SELECT id, UPPER(name) AS name FROM src WHERE amount > 10;
EXPLAIN INSERT INTO dst SELECT id, name FROM src WHERE doubled > 5;
EXPLAIN SELECT n FROM (VALUES (1), (2)) AS t(n) UNION ALL SELECT id FROM src LIMIT 3;
