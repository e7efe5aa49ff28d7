-- Interval joins: time bounds between two event-time attributes. State is kept only while a
-- row of the other side could still match; the output keeps its time attributes.
CREATE TABLE orders (id BIGINT, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'test-source');
CREATE TABLE shipments (order_id BIGINT, carrier STRING, sts TIMESTAMP(3), WATERMARK FOR sts AS sts) WITH ('connector' = 'test-source');

SELECT o.id, s.carrier, o.ts, s.sts
FROM orders AS o JOIN shipments AS s
ON o.id = s.order_id AND s.sts BETWEEN o.ts AND o.ts + INTERVAL '4' HOUR;

-- the bounds in WHERE, with strict comparisons (a millisecond inside, as Flink prints them)
SELECT o.id, s.carrier
FROM orders AS o, shipments AS s
WHERE o.id = s.order_id AND o.ts > s.sts - INTERVAL '1' MINUTE AND o.ts < s.sts + INTERVAL '1' MINUTE;

-- outer interval joins stay insert-only: an order without shipment comes out padded once
-- the watermark passes its window
SELECT o.id, s.carrier FROM orders AS o LEFT JOIN shipments AS s
ON o.id = s.order_id AND o.ts >= s.sts - INTERVAL '10' SECOND AND o.ts <= s.sts;

-- an interval join without an equality: all rows to one worker
SELECT o.id, s.carrier FROM orders AS o JOIN shipments AS s
ON s.sts BETWEEN o.ts - INTERVAL '1' SECOND AND o.ts + INTERVAL '1' SECOND;

-- one bound only is no interval: a regular join with the bound as its residual condition
SELECT o.id, s.carrier FROM orders AS o JOIN shipments AS s ON o.id = s.order_id AND s.sts >= o.ts;
