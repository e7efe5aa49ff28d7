CREATE TABLE orders (id BIGINT) WITH ('connector' = 'test-sorce');
SELECT id FROM orders;
