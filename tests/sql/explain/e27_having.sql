CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'test-source');
SELECT 1 AS one FROM src HAVING MAX(v) > 1;
