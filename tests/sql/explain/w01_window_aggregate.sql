-- Window aggregation: the pre-aggregation Calc (rowtime, keys, arguments), the keyed
-- Exchange, the WindowAggregate and the Calc of the SELECT items above it.
CREATE TABLE bids (
  item STRING,
  price INT,
  supplier STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'test-source', 'topic' = 'bids');

SELECT window_start, window_end, item, COUNT(*) AS n, SUM(price) AS total
FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, item;

-- HOP with an offset, no keys: everything goes to one worker
SELECT window_start, window_end, MAX(price) AS top, AVG(price) AS mean
FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

-- CUMULATE, COUNT(DISTINCT), FILTER, an expression key, WHERE and HAVING
SELECT UPPER(item) AS item, window_end, COUNT(DISTINCT supplier) AS suppliers,
       COUNT(*) FILTER (WHERE price > 100) AS big, MIN(price) + 1 AS low
FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' MINUTES, INTERVAL '10' MINUTES))
WHERE supplier IS NOT NULL
GROUP BY window_start, window_end, UPPER(item)
HAVING COUNT(*) > 1;

-- into a table
CREATE TABLE totals (item STRING, ws TIMESTAMP(3), we TIMESTAMP(3), total BIGINT) WITH ('connector' = 'test-sink');
INSERT INTO totals
SELECT item, window_start, window_end, SUM(price)
FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' HOUR))
GROUP BY item, window_start, window_end;

-- over a view with a computed rowtime
CREATE TABLE logs (
  line STRING,
  epoch_ms BIGINT,
  ts AS TO_TIMESTAMP_LTZ(epoch_ms, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'test-source');
CREATE VIEW errors AS SELECT * FROM logs WHERE line LIKE 'ERROR%';
SELECT window_start, COUNT(line) AS n
FROM TABLE(TUMBLE(TABLE errors, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

-- SESSION windows, per key (PARTITION BY names a GROUP BY key)
SELECT item, window_start, window_end, COUNT(*) AS n, MAX(price) AS top
FROM TABLE(SESSION(TABLE bids PARTITION BY item, DESCRIPTOR(ts), INTERVAL '5' MINUTES))
GROUP BY item, window_start, window_end;
