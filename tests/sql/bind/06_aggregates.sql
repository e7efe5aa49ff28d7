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

SELECT customer_id, COUNT(*) AS n, SUM(amount) AS total, AVG(amount) AS mean, MIN(product), MAX(order_time),
       COUNT(DISTINCT product) AS products, SUM(quantity) FILTER (WHERE amount > 10) AS big_qty,
       SUM(quantity) * 2 + customer_id AS expr, LISTAGG(product, ',')
FROM orders
WHERE quantity > 0
GROUP BY customer_id
HAVING COUNT(*) > 1 AND SUM(amount) > 100;

SELECT COUNT(*), SUM(discount), AVG(quantity) FROM orders;

SELECT customer_id + 1 AS k, COUNT(*) FROM orders GROUP BY customer_id + 1;

SELECT DISTINCT product, code FROM orders;

SELECT order_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_time DESC) AS rn,
       SUM(amount) OVER (PARTITION BY customer_id ORDER BY order_time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS running
FROM orders;
