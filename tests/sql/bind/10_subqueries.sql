CREATE TABLE orders (
  order_id BIGINT,
  customer_id INT,
  amount DECIMAL(10, 2),
  quantity INT NOT NULL,
  product STRING,
  code CHAR(3),
  discount DOUBLE,
  tags ARRAY<STRING>,
  attrs MAP<STRING, INT>,
  address ROW<city STRING, zip VARCHAR(10)>,
  order_time TIMESTAMP(3),
  order_date DATE,
  WATERMARK FOR order_time AS order_time - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen');

SELECT s.cid, s.total * 2 AS twice
FROM (SELECT customer_id AS cid, SUM(amount) AS total FROM orders GROUP BY customer_id) AS s
WHERE s.total > 10;

SELECT x, y FROM (SELECT order_id, product FROM orders) AS t (x, y);

WITH recent AS (SELECT order_id, amount FROM orders WHERE order_time > TIMESTAMP '2024-01-01 00:00:00')
SELECT r.* FROM recent r;

SELECT order_id, (SELECT MAX(quantity) FROM orders) AS top FROM orders
WHERE customer_id IN (SELECT customer_id FROM orders WHERE amount > 1) AND EXISTS (SELECT 1 FROM orders);

SELECT * FROM (SELECT product, code FROM orders);
