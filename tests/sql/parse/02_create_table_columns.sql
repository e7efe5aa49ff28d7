/* Computed and metadata columns, the watermark, the primary key, comments,
   options with quotes inside. */
CREATE TEMPORARY TABLE IF NOT EXISTS cat.db.orders (
  order_id BIGINT NOT NULL COMMENT 'the order',
  price DECIMAL(10, 2),
  quantity INT,
  total AS price * quantity,
  order_time AS TO_TIMESTAMP(raw_time, 'yyyy-MM-dd HH:mm:ss'),
  raw_time STRING,
  event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  `offset` BIGINT METADATA VIRTUAL,
  `partition` INT METADATA FROM 'partition' VIRTUAL,
  headers MAP<STRING, BYTES> METADATA FROM 'headers',
  topic STRING METADATA FROM 'topic' VIRTUAL,
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND,
  CONSTRAINT pk PRIMARY KEY (order_id) NOT ENFORCED
) COMMENT 'orders from the shop'
WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'orders',
  'key.format' = 'json',
  'value.format' = 'json',
  'note' = 'it''s quoted'
);

CREATE TABLE users (
  id BIGINT PRIMARY KEY NOT ENFORCED,
  name STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts
) WITH ('connector' = 'print');

CREATE TABLE pk2 (a INT, b STRING, PRIMARY KEY (a, b) NOT ENFORCED);
