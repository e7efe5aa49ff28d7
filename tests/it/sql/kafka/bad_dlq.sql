-- errors.dead-letter-topic: records whose key or value does not decode go to
-- kt_bad_dlq_dead as they were, with __weir.errors.* headers saying where from and why.
CREATE TABLE readings (k BIGINT, id BIGINT, v DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'kt_bad_dlq', 'properties.group.id' = 'kt-dlq-group',
  'key.format' = 'json', 'key.fields' = 'k', 'value.format' = 'json', 'value.fields-include' = 'EXCEPT_KEY',
  'errors.dead-letter-topic' = 'kt_bad_dlq_dead',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE readings_out (k BIGINT, id BIGINT, v DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'kt_bad_dlq_out', 'format' = 'json');
INSERT INTO readings_out SELECT k, id, v FROM readings;
