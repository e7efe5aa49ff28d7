CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);

SELECT ROW_NUMBER() FROM orders;
