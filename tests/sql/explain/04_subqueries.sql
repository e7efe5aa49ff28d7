-- Subqueries and WITH in FROM are planned like views.
CREATE TABLE events (id INT, kind STRING, payload STRING, v DOUBLE) WITH ('connector' = 'test-source');

SELECT k, v2
FROM (SELECT kind AS k, v * 2 AS v2 FROM events WHERE kind <> 'noise') AS s
WHERE v2 > 10.5;

WITH big AS (SELECT id, v FROM events WHERE v > 100),
     bigger AS (SELECT id FROM big WHERE v > 1000)
SELECT id + 1 AS next_id FROM bigger;

-- a subquery that uses an expression twice stays a CALC of its own
SELECT u, u || '!' AS loud FROM (SELECT UPPER(kind) AS u FROM events) AS t;

-- SELECT * of SELECT * is the scan itself
SELECT * FROM (SELECT * FROM events);
