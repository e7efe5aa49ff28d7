CREATE TABLE t (
  a INT,
  b STRING
  FROM x
);
