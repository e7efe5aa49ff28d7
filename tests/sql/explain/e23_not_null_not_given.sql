CREATE TABLE src (id BIGINT, name STRING) WITH ('connector' = 'test-source');
CREATE TABLE dst (id BIGINT NOT NULL, name STRING) WITH ('connector' = 'test-sink');
INSERT INTO dst (name) SELECT name FROM src;
