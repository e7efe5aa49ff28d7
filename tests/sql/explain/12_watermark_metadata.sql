-- A watermark is shown on its scan; its column is read even when the query does not use it.
CREATE TABLE clicks (
  user_id BIGINT,
  url STRING,
  ts TIMESTAMP(3),
  kafka_ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'test-source', 'topic' = 'clicks');

SELECT user_id, url FROM clicks;

SELECT user_id, kafka_ts FROM clicks;

-- a watermark on a computed column pulls in the computed column and what it reads
CREATE TABLE logs (
  line STRING,
  epoch_ms BIGINT,
  ts AS CAST(epoch_ms AS TIMESTAMP_LTZ(3)),
  WATERMARK FOR ts AS ts
) WITH ('connector' = 'test-source');

SELECT line FROM logs;
