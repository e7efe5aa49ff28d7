CREATE TABLE t (id INT) WITH ('connector' = 'nosuch');
SELECT * FROM t;
