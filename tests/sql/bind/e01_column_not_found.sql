CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3));

SELECT order_id,
       product,
  SUM(amout)
FROM orders
GROUP BY order_id, product;
