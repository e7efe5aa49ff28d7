-- A topic list and a topic pattern (every topic whose whole name matches, found when the
-- job starts); the topic metadata column says where each row came from.
CREATE TABLE listed (id BIGINT, t STRING METADATA FROM 'topic' VIRTUAL) WITH (
  'connector' = 'kafka', 'topic' = 'kt_multi_a; kt_multi_b', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE matched (id BIGINT, t STRING METADATA FROM 'topic' VIRTUAL) WITH (
  'connector' = 'kafka', 'topic-pattern' = 'kt_multi_[a-z]', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE from_list (id BIGINT, t STRING) WITH ('connector' = 'kafka', 'topic' = 'kt_from_list', 'format' = 'json');
CREATE TABLE from_pattern (id BIGINT, t STRING) WITH ('connector' = 'kafka', 'topic' = 'kt_from_pattern', 'format' = 'json');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO from_list SELECT id, t FROM listed;
  INSERT INTO from_pattern SELECT id, t FROM matched;
END;
