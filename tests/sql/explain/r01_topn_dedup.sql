-- Top-N (ROW_NUMBER with a bound on the row number in the outer query) and deduplication
-- (rn = 1 ordered by a time attribute): a pre-Calc, an Exchange on the partition keys,
-- the Rank / Deduplicate node and the outer Calc.
CREATE TABLE orders (
  id BIGINT,
  category STRING,
  product STRING,
  amount INT,
  ts TIMESTAMP(3),
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'test-source', 'topic' = 'orders');

-- the top 3 products by amount per category, the row number selected: a changelog keyed
-- by (category, rn)
SELECT category, product, amount, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY amount DESC) AS rn FROM orders
) WHERE rn <= 3;

-- rn not selected, rn < N, another condition kept after the rank, an inner WHERE
SELECT product, amount FROM (
  SELECT product, amount, category, ROW_NUMBER() OVER (PARTITION BY category ORDER BY amount DESC, product) AS rownum
  FROM orders WHERE amount > 0
) WHERE rownum < 4 AND product <> 'x';

-- BETWEEN, no PARTITION BY: one worker holds the whole ranking
SELECT * FROM (
  SELECT id, amount, ROW_NUMBER() OVER (ORDER BY amount) AS rn FROM orders
) WHERE rn BETWEEN 2 AND 5;

-- deduplication keeping the first row per id on event time (an update when an earlier row
-- comes later), and the last one on processing time
SELECT id, product, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts ASC) AS rn FROM orders
) WHERE rn = 1;

SELECT id, product FROM (
  SELECT id, product, ROW_NUMBER() OVER (PARTITION BY id ORDER BY pt DESC) AS rn FROM orders
) WHERE rn = 1;

-- keep-first on processing time is append-only: it can go into an append-only sink
CREATE TABLE firsts (id BIGINT, product STRING) WITH ('connector' = 'test-sink');
INSERT INTO firsts
SELECT id, product FROM (
  SELECT id, product, ROW_NUMBER() OVER (PARTITION BY id ORDER BY pt) AS rn FROM orders
) WHERE rn = 1;

-- a view holding the ranking, filtered outside it
CREATE VIEW ranked AS SELECT category, amount, ROW_NUMBER() OVER (PARTITION BY category ORDER BY amount DESC) AS r FROM orders;
SELECT category, amount FROM ranked WHERE r = 1;
