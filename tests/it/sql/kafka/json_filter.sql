-- JSON Kafka -> filter/project -> Kafka JSON (tests/it/test_sql_kafka.py). Bounded: reads
-- every partition from the earliest offset to the latest one at start, then ends.
CREATE TABLE orders (
  id BIGINT,
  name STRING,
  qty INT,
  amount DECIMAL(10, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_orders',
  'properties.bootstrap.servers' = 'localhost:9092',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json'
);

CREATE TABLE big_orders (
  id BIGINT,
  name STRING,
  qty INT,
  amount DECIMAL(10, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_big_orders',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json'
);

INSERT INTO big_orders
SELECT id, UPPER(name), qty * 2, amount FROM orders WHERE amount > 10;
