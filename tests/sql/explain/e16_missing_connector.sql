CREATE TABLE orders (id BIGINT) WITH ('topic' = 'orders');
SELECT id FROM orders;
