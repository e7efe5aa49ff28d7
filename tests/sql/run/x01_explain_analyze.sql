-- EXPLAIN ANALYZE (Weir's extension): runs the query, then prints its plan with the rows
-- each operator emitted and how the job ended
EXPLAIN ANALYZE SELECT n, COUNT(*) AS c FROM (VALUES (1), (2), (1)) AS t(n) WHERE n > 0 GROUP BY n;
