CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-source');
CREATE TABLE dst (id BIGINT) WITH ('connector' = 'test-sink', 'bad' = 'yes');
INSERT INTO dst SELECT id FROM src;
