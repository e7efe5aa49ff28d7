CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2), product STRING, order_time TIMESTAMP(3));
CREATE VIEW v AS SELECT order_id FROM orders;
INSERT INTO v SELECT order_id FROM orders;
