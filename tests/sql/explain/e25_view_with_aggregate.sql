-- the refusal names the place in the view's query
CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'test-source');
CREATE VIEW totals AS
  SELECT id, MAX(v) AS top FROM src GROUP BY id;
SELECT * FROM totals;
