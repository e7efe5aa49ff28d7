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

CREATE TABLE customers (
  customer_id INT,
  name STRING,
  country CHAR(2),
  PRIMARY KEY (customer_id) NOT ENFORCED
) WITH ('connector' = 'datagen');

CREATE VIEW big_orders AS
SELECT order_id, customer_id, amount * 2 AS doubled, order_time FROM orders WHERE amount > 100;

CREATE TEMPORARY VIEW per_customer (cid, n) AS
SELECT customer_id, COUNT(*) FROM big_orders GROUP BY customer_id;

SELECT b.order_id, b.doubled, p.n FROM big_orders AS b JOIN per_customer p ON b.customer_id = p.cid;

DROP VIEW per_customer;
