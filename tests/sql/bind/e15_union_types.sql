CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3));

SELECT order_id, product FROM orders
UNION ALL
SELECT order_id, order_time FROM orders;
