CREATE TABLE t (
  id BIGINT,
  name STRING,
  WATERMARK FOR name AS name
);
