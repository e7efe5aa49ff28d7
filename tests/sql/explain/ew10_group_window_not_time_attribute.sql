-- The group window's first argument must be a time attribute
CREATE TABLE bids (item STRING, price INT, ts TIMESTAMP(3), t2 TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT TUMBLE_END(t2, INTERVAL '1' MINUTE), COUNT(*)
FROM bids
GROUP BY TUMBLE(t2, INTERVAL '1' MINUTE);
