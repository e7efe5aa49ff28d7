CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-source', 'bad' = 'yes');
SELECT id FROM src;
