-- A Kafka-to-Kafka style pipeline: filter and project into a sink. The scan reads only
-- the three columns the query uses; the sink's CALC merges with the query's.
CREATE TABLE orders (
  id BIGINT,
  name STRING,
  amount DECIMAL(10, 2),
  region STRING,
  note STRING
) WITH ('connector' = 'test-source', 'topic' = 'orders');

CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'test-sink', 'topic' = 'out');

EXPLAIN INSERT INTO out SELECT id, UPPER(name) FROM orders WHERE amount > 10;

INSERT INTO out
SELECT id, CONCAT(name, '@', region) AS name
FROM orders
WHERE region IN ('eu', 'us') AND note IS NOT NULL AND name LIKE 'a%';
