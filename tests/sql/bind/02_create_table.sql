-- Physical, metadata and computed columns; the watermark column becomes a rowtime
-- attribute; the primary key's columns become NOT NULL; the options stay strings.
CREATE TABLE events (
  id BIGINT,
  payload STRING,
  price DECIMAL(10, 2),
  qty INT,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  `timestamp` TIMESTAMP_LTZ(3) METADATA,
  total AS price * qty,
  pt AS PROCTIME(),
  event_time AS TO_TIMESTAMP(JSON_VALUE(payload, '$.ts')),
  WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'kafka',
  'topic' = 'events',
  'format' = 'json'
);

CREATE TABLE all_types (
  b BOOLEAN, t TINYINT, s SMALLINT, i INT, bi BIGINT, f FLOAT, d DOUBLE,
  dec0 DECIMAL, dec1 DECIMAL(5), dec2 DECIMAL(38, 10),
  c CHAR, c5 CHAR(5), vc VARCHAR, vc20 VARCHAR(20) NOT NULL, str STRING,
  bin BINARY(4), vbin VARBINARY(8), byt BYTES,
  dt DATE, tm TIME, tm3 TIME(3), ts TIMESTAMP, ts3 TIMESTAMP(3), ltz TIMESTAMP_LTZ(3),
  arr ARRAY<INT NOT NULL>, m MAP<STRING, ARRAY<BIGINT>>, r ROW<a INT, b STRING NOT NULL>,
  ms MULTISET<STRING>
);

CREATE TABLE IF NOT EXISTS events (x INT);
DROP TABLE all_types;
DROP TABLE IF EXISTS all_types;
SET 'pipeline.name' = 'ddl';
