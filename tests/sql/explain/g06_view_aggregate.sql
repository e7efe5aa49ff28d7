-- an aggregation in a view, read by a query: planned where the view is used
CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'test-source');
CREATE VIEW totals AS
  SELECT id, MAX(v) AS top FROM src GROUP BY id;
SELECT * FROM totals WHERE top > 3;
