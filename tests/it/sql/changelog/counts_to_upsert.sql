-- A group aggregation's changelog (+I, -U, +U) into upsert-kafka: the topic, compacted by
-- key, holds each key's final count.
CREATE TABLE clicks (user_id STRING, url STRING) WITH (
  'connector' = 'kafka', 'topic' = 'cl_clicks', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE clicks_per_user (user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'cl_clicks_per_user', 'key.format' = 'json', 'value.format' = 'json'
);
INSERT INTO clicks_per_user SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;
