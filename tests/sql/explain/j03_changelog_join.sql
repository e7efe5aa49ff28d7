-- A join over an updating input (a GROUP BY) updates too.
CREATE TABLE orders (id BIGINT, customer BIGINT, amount INT) WITH ('connector' = 'test-source');
CREATE TABLE customers (id BIGINT, city STRING) WITH ('connector' = 'test-source');

SELECT c.city, t.total
FROM (SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer) AS t
JOIN customers AS c ON t.customer = c.id;
