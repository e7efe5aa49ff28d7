-- Interval joins over event time: orders at id seconds, shipments 0 to 5 s later (id * 7
-- mod 6); a shipment matches an order of the same id within 3 s. The LEFT join pads the
-- orders without one once the watermark (the slower input's) passes their window.
CREATE TABLE orders (
  id BIGINT,
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(id AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'memtest', 'rows' = '8', 'splits' = '1');
CREATE TABLE shipments (
  id BIGINT,
  sts AS CAST(TIMESTAMPADD(SECOND, CAST(id + MOD(id * 7, 6) AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR sts AS sts - INTERVAL '1' SECOND
) WITH ('connector' = 'memtest', 'rows' = '8', 'splits' = '1');

SELECT o.id, o.ts, s.sts FROM orders AS o JOIN shipments AS s
ON o.id = s.id AND s.sts BETWEEN o.ts AND o.ts + INTERVAL '3' SECOND;

SELECT o.id, s.sts FROM orders AS o LEFT JOIN shipments AS s
ON o.id = s.id AND s.sts BETWEEN o.ts AND o.ts + INTERVAL '3' SECOND;
