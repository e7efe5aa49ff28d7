-- Metadata columns: read topic, partition, offset, timestamp, timestamp-type and headers;
-- write timestamp and headers back (the copy keeps each record's timestamp and headers).
CREATE TABLE events (
  id BIGINT,
  src_topic STRING METADATA FROM 'topic' VIRTUAL,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  ts_type STRING METADATA FROM 'timestamp-type' VIRTUAL,
  hdrs MAP<STRING, BYTES> METADATA FROM 'headers'
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_events',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json'
);

CREATE TABLE events_copy (
  id BIGINT,
  src_topic STRING,
  src_partition INT,
  src_offset BIGINT,
  ts_type STRING,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  hdrs MAP<STRING, BYTES> METADATA FROM 'headers'
) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_events_copy',
  'format' = 'json'
);

INSERT INTO events_copy SELECT id, src_topic, `partition`, `offset`, ts_type, ts, hdrs FROM events;
