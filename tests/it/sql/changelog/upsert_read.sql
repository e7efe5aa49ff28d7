-- An upsert-kafka table read back: values are upserts of their key and tombstones deletes;
-- the changelog normaliser after the source makes them +I / -U / +U / -D.
SET 'parallelism.default' = '1';
CREATE TABLE users (user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'cl_users', 'key.format' = 'json', 'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE shown (user_id STRING, n BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'u');
INSERT INTO shown SELECT user_id, n FROM users;
