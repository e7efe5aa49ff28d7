-- INSERT with a column list: the other writable columns get NULL; computed and VIRTUAL
-- metadata columns are never written.
CREATE TABLE src (id INT, name STRING, score DOUBLE) WITH ('connector' = 'test-source');

CREATE TABLE dst (
  id BIGINT,
  name STRING,
  score DOUBLE,
  ts TIMESTAMP(3) METADATA FROM 'timestamp',
  part INT METADATA FROM 'partition' VIRTUAL,
  label AS CONCAT('#', name)
) WITH ('connector' = 'test-sink', 'topic' = 'dst');

INSERT INTO dst (name, id) SELECT name, id FROM src;

INSERT INTO dst SELECT id, name, score, CAST(NULL AS TIMESTAMP(3)) FROM src;
