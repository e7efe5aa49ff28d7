CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-source');
CREATE TABLE dst (id BIGINT) WITH ('connector' = 'test-sink');
INSERT OVERWRITE dst SELECT id FROM src;
