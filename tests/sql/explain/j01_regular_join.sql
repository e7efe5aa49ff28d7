-- Regular equi-joins: each side is sent by a hash exchange on its join key to the worker that
-- owns the key, and the join keeps both sides' rows per key in state.
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
CREATE TABLE customers (id BIGINT, city STRING) WITH ('connector' = 'test-source');
CREATE TABLE ints (k INT, label STRING) WITH ('connector' = 'test-source');

SELECT o.id, c.city
FROM orders AS o JOIN customers AS c ON o.id = c.id;

-- outer joins make the padded side nullable and produce a changelog
SELECT o.id, o.name, c.city FROM orders AS o LEFT JOIN customers AS c ON o.id = c.id;

SELECT o.id, c.id AS cid, c.city FROM orders AS o RIGHT OUTER JOIN customers AS c ON o.id = c.id;

SELECT * FROM orders AS o FULL OUTER JOIN customers AS c ON o.id = c.id;

-- USING, a residual condition, and a filter on one side pushed below the join
SELECT id, name, city FROM orders JOIN customers USING (id) WHERE amount > 10;

SELECT o.id, c.city FROM orders AS o JOIN customers AS c ON o.id = c.id AND o.amount > CHAR_LENGTH(c.city) AND c.city <> 'Oslo';

-- a LEFT JOIN keeps its left-only ON condition in the join (a row failing it is still
-- emitted, padded), and pushes the right-only one below
SELECT o.id, c.city FROM orders AS o LEFT JOIN customers AS c ON o.id = c.id AND o.amount > 5 AND c.city = 'Oslo';

-- keys of different types meet at their common type (INT and BIGINT share a representation;
-- an expression is computed before the exchange)
SELECT o.id, i.label FROM orders AS o JOIN ints AS i ON o.id = i.k;

SELECT o.id, i.label FROM orders AS o JOIN ints AS i ON o.id + 1 = i.k * 2;

-- a comma join takes its keys from WHERE
SELECT o.id, c.city FROM orders AS o, customers AS c WHERE o.id = c.id AND c.city LIKE 'O%';

-- three inputs: (orders JOIN customers) JOIN ints
SELECT o.id, c.city, i.label
FROM orders AS o JOIN customers AS c ON o.id = c.id LEFT JOIN ints AS i ON i.k = o.amount;

-- a condition of the outer ON on the padded side of the inner LEFT JOIN filters that join's
-- output: it cannot go below it
SELECT o.id, c.city, i.label
FROM orders AS o JOIN (customers AS c LEFT JOIN ints AS i ON i.k = c.id) ON o.id = c.id AND i.label <> 'x';
