-- An auxiliary function must repeat the arguments of the group window in GROUP BY
CREATE TABLE bids (item STRING, price INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT TUMBLE_START(ts, INTERVAL '2' MINUTE), COUNT(*)
FROM bids
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);
