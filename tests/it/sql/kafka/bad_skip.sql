-- json.ignore-parse-errors: the bad record is skipped and counted (the CLI's summary line).
CREATE TABLE readings (id BIGINT, v DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'kt_bad_skip', 'format' = 'json', 'json.ignore-parse-errors' = 'true',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE readings_out (id BIGINT, v DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'kt_bad_skip_out', 'format' = 'json');
INSERT INTO readings_out SELECT id, v FROM readings;
