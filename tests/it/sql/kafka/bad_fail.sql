-- A record that does not decode fails the job (the default), naming where it is.
CREATE TABLE readings (id BIGINT, v DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'kt_bad_fail', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE readings_out (id BIGINT, v DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'kt_bad_fail_out', 'format' = 'json');
INSERT INTO readings_out SELECT id, v FROM readings;
