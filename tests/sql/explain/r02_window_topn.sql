-- Window Top-N and window deduplication: over a window TVF directly (the WindowRank computes
-- the windows from the time column), and over a window aggregation's result (it reads
-- window_start / window_end); both emit when the watermark passes the window's end.
CREATE TABLE bids (
  item STRING,
  price INT,
  supplier STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'test-source', 'topic' = 'bids');

SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rownum
  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' MINUTES))
) WHERE rownum <= 3;

-- per supplier, HOP windows, rownum not selected
SELECT window_start, window_end, supplier, item, price FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, supplier ORDER BY price DESC) AS rownum
  FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES))
) WHERE rownum <= 2;

-- the top suppliers of each window by their summed price
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rownum
  FROM (
    SELECT window_start, window_end, supplier, SUM(price) AS price, COUNT(*) AS cnt
    FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' MINUTES))
    GROUP BY window_start, window_end, supplier
  )
) WHERE rownum <= 3;

-- window deduplication: the last bid per item and window
SELECT item, price, ts, window_start, window_end FROM (
  SELECT item, price, ts, window_start, window_end,
         ROW_NUMBER() OVER (PARTITION BY window_start, window_end, item ORDER BY ts DESC) AS rownum
  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' MINUTES))
) WHERE rownum = 1;

-- window results are final: they go into an append-only sink
CREATE TABLE firsts (item STRING, price INT, ws TIMESTAMP(3)) WITH ('connector' = 'test-sink');
INSERT INTO firsts
SELECT item, price, window_start FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, item ORDER BY ts) AS rownum
  FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' MINUTES, INTERVAL '10' MINUTES))
) WHERE rownum <= 1;
