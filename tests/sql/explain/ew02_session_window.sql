-- SESSION windows merge as rows bridge them; COUNT(DISTINCT) would need the value sets merged
CREATE TABLE bids (item STRING, price INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT window_start, window_end, item, COUNT(DISTINCT price)
FROM TABLE(SESSION(TABLE bids PARTITION BY item, DESCRIPTOR(ts), INTERVAL '5' MINUTES))
GROUP BY window_start, window_end, item;
