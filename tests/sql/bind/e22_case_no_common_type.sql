CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3));

SELECT CASE WHEN amount > 1 THEN product ELSE order_time END FROM orders;
