-- LISTAGG (default and given separator, with FILTER), FIRST_VALUE and LAST_VALUE in a window aggregation
CREATE TABLE bids (item STRING, price INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'test-source');
EXPLAIN SELECT window_start, window_end, LISTAGG(item), LISTAGG(item, '; ') FILTER (WHERE price > 10),
       FIRST_VALUE(price), LAST_VALUE(item)
FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
