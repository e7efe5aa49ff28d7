CREATE TABLE src (id BIGINT) WITH ('connector' = 'test-source');
CREATE TABLE dst (id BIGINT) WITH ('connector' = 'readonly');
INSERT INTO dst SELECT id FROM src;
