CREATE TABLE t (id BIGINT)
WITH (
  'connector' 'kafka'
);
