CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-sink');
SELECT id FROM src;
