-- UNION ALL: sides cast to the common column types; nested UNION ALLs flatten.
CREATE TABLE a (id INT, name VARCHAR(10)) WITH ('connector' = 'test-source', 'topic' = 'a');
CREATE TABLE b (id BIGINT, name STRING) WITH ('connector' = 'test-source', 'topic' = 'b');
CREATE TABLE c (id INT, name CHAR(3)) WITH ('connector' = 'readonly');

SELECT id, name FROM a
UNION ALL
SELECT id, name FROM b
UNION ALL
SELECT id, name FROM c WHERE id > 0;

CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'test-sink');

INSERT INTO out
SELECT id, name FROM a
UNION ALL
SELECT id * 10, LOWER(name) FROM b;
