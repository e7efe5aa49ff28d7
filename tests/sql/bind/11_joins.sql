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

SELECT o.order_id, c.name, o.amount FROM orders o JOIN customers c ON o.customer_id = c.customer_id;

SELECT order_id, name, customer_id FROM orders JOIN customers USING (customer_id);

SELECT o.order_id, c.name FROM orders AS o LEFT JOIN customers AS c ON o.customer_id = c.customer_id AND c.country = 'DE';

SELECT o.*, c.country FROM orders o FULL OUTER JOIN customers c ON o.customer_id = c.customer_id;

SELECT * FROM orders o, customers c WHERE o.customer_id = c.customer_id;

SELECT * FROM customers CROSS JOIN customers AS c2;
