-- group-offsets: the first run finds no committed offset and starts at the earliest
-- (properties.auto.offset.reset); each run commits what it wrote, so the next run
-- starts after it.
CREATE TABLE ticks (id BIGINT) WITH (
  'connector' = 'kafka',
  'topic' = 'kt_ticks',
  'properties.group.id' = 'kt-resume-group',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json'
);
CREATE TABLE ticks_out (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_ticks_out', 'format' = 'json');
INSERT INTO ticks_out SELECT id FROM ticks;
