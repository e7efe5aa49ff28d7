CREATE TABLE t (
  id BIGINT,
  amount INTT
);
