-- An outer join retracts its NULL-padded rows: an append-only sink cannot take it.
CREATE TABLE orders (id BIGINT, customer BIGINT, amount INT) WITH ('connector' = 'test-source');
CREATE TABLE customers (id BIGINT, city STRING) WITH ('connector' = 'test-source');
CREATE TABLE out_append (id BIGINT, city STRING) WITH ('connector' = 'test-sink');
INSERT INTO out_append SELECT o.id, c.city FROM orders AS o LEFT JOIN customers AS c ON o.customer = c.id;
