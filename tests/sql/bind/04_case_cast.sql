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

SELECT
  CASE WHEN amount > 100 THEN 'big' WHEN amount > 10 THEN 'medium' ELSE 'small' END AS size,
  CASE quantity WHEN 1 THEN 'one' WHEN 2 THEN 'two' END AS qname,
  CASE WHEN quantity > 1 THEN quantity ELSE amount END AS widened,
  CASE WHEN quantity > 1 THEN 1 ELSE discount END AS to_double,
  CASE WHEN product IS NULL THEN NULL ELSE product END AS same,
  CAST(amount AS STRING), CAST(product AS INT), CAST(quantity AS DECIMAL(5, 1)),
  CAST(order_time AS DATE), CAST(order_date AS TIMESTAMP(3)), CAST(order_time AS STRING),
  CAST(tags AS ARRAY<VARCHAR(5)>), CAST(NULL AS INT), CAST(quantity AS BOOLEAN),
  TRY_CAST(product AS BIGINT), TRY_CAST(quantity AS INT NOT NULL)
FROM orders;
