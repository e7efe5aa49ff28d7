CREATE TABLE src (id BIGINT) WITH ('connector' = 'mongodb');
CREATE TABLE dst (id BIGINT) WITH ('connector' = 'test-sink');
INSERT INTO dst SELECT id FROM src;
