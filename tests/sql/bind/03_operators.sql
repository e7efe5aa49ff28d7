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

-- Every operator family, typed with Flink's rules.
SELECT
  amount + 1, amount - discount, amount * quantity, amount / 3, quantity % 7, -amount,
  quantity + customer_id, CAST(quantity AS BIGINT) + 1, 2.5 * 4,
  product || code, code || 'xy', 'a' || 'bc',
  quantity > 10, amount = 10, product <> 'x', code = 'abc', quantity = '5',
  quantity > 1 AND product IS NOT NULL, NOT (quantity < 3) OR amount IS NULL,
  product LIKE 'a%', product NOT LIKE '%b' ESCAPE '!',
  customer_id IN (1, 2, 3), quantity NOT IN (1, 2.5), code IN ('a', 'bcd'),
  quantity BETWEEN 1 AND 100, amount NOT BETWEEN 0 AND 1.5,
  product IS DISTINCT FROM 'p', quantity IS NOT DISTINCT FROM 3,
  (quantity > 1) IS TRUE, (amount > 1) IS NOT UNKNOWN,
  order_time + INTERVAL '1' HOUR, order_date - INTERVAL '2' DAY, INTERVAL '1' DAY + order_time,
  INTERVAL '1' YEAR + INTERVAL '2' MONTH, INTERVAL '10' MINUTE * 3,
  tags[1], attrs['k'], address.city, orders.address.zip,
  DATE '2024-01-01', TIME '12:30:00', TIMESTAMP '2024-01-01 10:00:00.123', X'0aff', TRUE, NULL IS NULL,
  123456789012, 12345678901234567890123, 1.5E3, .5, 007.250
FROM orders;
