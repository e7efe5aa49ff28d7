-- Start and stop positions over one partition of 20 records (offset i holds id i and has
-- timestamp 1717200000000 + i * 1000): specific offsets, timestamps, and both bounded the
-- same ways. One job, four INSERTs.
CREATE TABLE from_offset (id BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_positions', 'format' = 'json',
  'scan.startup.mode' = 'specific-offsets',
  'scan.startup.specific-offsets' = 'partition:0,offset:12',
  'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE from_time (id BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_positions', 'format' = 'json',
  'scan.startup.mode' = 'timestamp',
  'scan.startup.timestamp-millis' = '1717200015000',
  'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE offset_range (id BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_positions', 'format' = 'json',
  'scan.startup.mode' = 'specific-offsets',
  'scan.startup.specific-offsets' = 'partition:0,offset:3',
  'scan.bounded.mode' = 'specific-offsets',
  'scan.bounded.specific-offsets' = 'partition:0,offset:6'
);
CREATE TABLE time_range (id BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_positions', 'format' = 'json',
  'scan.startup.mode' = 'timestamp',
  'scan.startup.timestamp-millis' = '1717200004500',
  'scan.bounded.mode' = 'timestamp',
  'scan.bounded.timestamp-millis' = '1717200008000'
);
CREATE TABLE pos_from_offset (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_pos_from_offset', 'format' = 'json');
CREATE TABLE pos_from_time (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_pos_from_time', 'format' = 'json');
CREATE TABLE pos_offset_range (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_pos_offset_range', 'format' = 'json');
CREATE TABLE pos_time_range (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'kt_pos_time_range', 'format' = 'json');

EXECUTE STATEMENT SET BEGIN
  INSERT INTO pos_from_offset SELECT id FROM from_offset;
  INSERT INTO pos_from_time SELECT id FROM from_time;
  INSERT INTO pos_offset_range SELECT id FROM offset_range;
  INSERT INTO pos_time_range SELECT id FROM time_range;
END;
