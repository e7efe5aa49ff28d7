CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3));
CREATE TABLE customers (customer_id INT, name STRING);

SELECT order_id, customer_id
FROM orders o JOIN customers c ON o.customer_id = c.customer_id;
