-- A group window reads one table or view (as the window TVFs do)
CREATE TABLE bids (item STRING, price INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT COUNT(*)
FROM bids AS a JOIN bids AS b ON a.item = b.item
GROUP BY TUMBLE(a.ts, INTERVAL '1' MINUTE);
