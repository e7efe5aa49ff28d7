-- Record keys: the source reads the id from the key ({"id": n}, named k_id in the table
-- through key.fields-prefix, so EXCEPT_KEY) and the rest from the value; the sink writes
-- the id as a JSON key (default partitioner: murmur2 of the key bytes, as Kafka's) and
-- every column in the value (value.fields-include ALL).
CREATE TABLE keyed (
  k_id BIGINT,
  name STRING,
  amount DECIMAL(10, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_keyed',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'key.format' = 'json',
  'key.fields' = 'k_id',
  'key.fields-prefix' = 'k_',
  'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY'
);

CREATE TABLE keyed_out (
  id BIGINT,
  name STRING,
  amount DECIMAL(10, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_keyed_out',
  'key.format' = 'json',
  'key.fields' = 'id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
);

INSERT INTO keyed_out SELECT k_id, name, amount FROM keyed;
