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

-- The functions of issue 4 item 2: argument checks and result types.
SELECT
  UPPER(product), LOWER(code), INITCAP(product), TRIM(product), TRIM(LEADING 'x' FROM product), LTRIM(product),
  RTRIM(product, 'y'), SUBSTRING(product FROM 2 FOR 3), SUBSTR(product, 2), CONCAT(product, code, 'z'),
  CONCAT_WS('-', product, code), REPLACE(product, 'a', 'b'), CHAR_LENGTH(product), POSITION('a' IN product),
  LPAD(product, 10, '*'), RPAD(code, 5, ' '), REGEXP(product, '^a'), REGEXP_EXTRACT(product, '(\d+)', 1),
  REGEXP_REPLACE(product, 'a', 'b'), SPLIT_INDEX(product, ',', 0), STR_TO_MAP('a=1,b=2'),
  MD5(product), SHA1(product), SHA256(product)
FROM orders;

SELECT
  ABS(amount), ROUND(amount, 1), FLOOR(amount), CEIL(discount), MOD(quantity, 3), POWER(quantity, 2),
  SQRT(discount), LN(amount), LOG10(quantity), EXP(1), SIGN(amount), TRUNCATE(amount, 1)
FROM orders;

SELECT
  CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP, CURRENT_DATE, DATE_FORMAT(order_time, 'yyyy-MM-dd'),
  TO_TIMESTAMP('2024-01-01 00:00:00'), TO_TIMESTAMP_LTZ(1700000000000, 3), TO_DATE('2024-01-01'),
  UNIX_TIMESTAMP(), UNIX_TIMESTAMP('2024-01-01 00:00:00'), FROM_UNIXTIME(1700000000),
  EXTRACT(HOUR FROM order_time), TIMESTAMPADD(DAY, 1, order_time), TIMESTAMPDIFF(SECOND, order_time, order_time),
  FLOOR(order_time TO HOUR), CEIL(order_date TO MONTH)
FROM orders;

SELECT
  COALESCE(product, 'none'), COALESCE(customer_id, quantity), NULLIF(quantity, 0), IF(quantity > 1, amount, 0),
  IFNULL(discount, 0), GREATEST(quantity, customer_id, 3), LEAST(amount, 1.25),
  JSON_VALUE(product, '$.a'), JSON_QUERY(product, '$.b'), JSON_EXISTS(product, '$.c'),
  CARDINALITY(tags), CARDINALITY(attrs), ARRAY[1, 2, quantity], MAP['a', 1, 'b', 2], ROW(quantity, product)
FROM orders;
