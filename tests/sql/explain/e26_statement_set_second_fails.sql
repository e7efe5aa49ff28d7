CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'test-source');
CREATE TABLE dst (id BIGINT) WITH ('connector' = 'test-sink');
CREATE TABLE ro (id BIGINT) WITH ('connector' = 'readonly');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO dst SELECT id FROM src;
  INSERT INTO ro SELECT id FROM src;
END;
