CREATE TABLE t (
  id BIGINT,
  PRIMARY KEY (id)
) WITH ('connector' = 'kafka');
