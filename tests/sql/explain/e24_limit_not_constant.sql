CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-source');
SELECT id FROM src LIMIT 2 + 3;
