-- Computed columns: the source leaves them NULL, a CALC over the scan computes the ones
-- read downstream (and the ones they need are read).
CREATE TABLE orders (
  id BIGINT,
  price DECIMAL(6, 2),
  qty SMALLINT,
  name STRING,
  total AS price * qty,
  shout AS UPPER(name)
) WITH ('connector' = 'test-source', 'topic' = 'orders');

CREATE TABLE out (id BIGINT, total DECIMAL(12, 2)) WITH ('connector' = 'test-sink');

INSERT INTO out SELECT id, total FROM orders WHERE total > 100;

-- no computed column read: no CALC for them
SELECT id, name FROM orders;

-- SELECT * reads every column, computed ones included
SELECT * FROM orders;
