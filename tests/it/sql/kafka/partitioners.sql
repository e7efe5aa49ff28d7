-- sink.partitioner: 'fixed' sends everything a worker writes to partition
-- worker % partitions; 'round-robin' deals records over the partitions in turn. Two
-- workers, each reading one partition of the input.
SET 'parallelism.default' = '2';
CREATE TABLE parts_in (id BIGINT, `partition` INT METADATA VIRTUAL) WITH (
  'connector' = 'kafka', 'topic' = 'kt_parts_in', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE parts_fixed (id BIGINT, src INT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_parts_fixed', 'format' = 'json', 'sink.partitioner' = 'fixed'
);
CREATE TABLE parts_rr (id BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_parts_rr', 'format' = 'json', 'sink.partitioner' = 'round-robin'
);
EXECUTE STATEMENT SET BEGIN
  INSERT INTO parts_fixed SELECT id, `partition` FROM parts_in;
  INSERT INTO parts_rr SELECT id FROM parts_in;
END;
