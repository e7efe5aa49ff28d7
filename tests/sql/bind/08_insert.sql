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

CREATE TABLE sink (
  order_id BIGINT,
  amount DECIMAL(20, 4),
  product VARCHAR(100),
  total DOUBLE,
  ts TIMESTAMP(3),
  note STRING
) WITH ('connector' = 'print');

-- implicit widenings: INT to BIGINT, DECIMAL(10, 2) to DECIMAL(20, 4), STRING to VARCHAR(100),
-- INT to DOUBLE, the rowtime to a plain TIMESTAMP(3), CHAR(3) to STRING
INSERT INTO sink
SELECT customer_id, amount, product, quantity, order_time, code FROM orders;

INSERT INTO sink (order_id, note) SELECT order_id, product FROM orders;

INSERT INTO sink SELECT order_id, amount, product, discount, CAST(order_date AS TIMESTAMP(3)), CAST(NULL AS STRING) FROM orders;

EXECUTE STATEMENT SET BEGIN
  INSERT INTO sink SELECT order_id, amount, product, discount, order_time, 'a' FROM orders;
  INSERT INTO sink (order_id) VALUES (1);
END;

EXPLAIN SELECT order_id FROM orders WHERE amount > 1;
