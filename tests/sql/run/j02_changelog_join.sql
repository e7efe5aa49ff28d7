-- A join over a changelog: the group aggregation's -U/+U retract and re-join rows of the
-- left side (counts per key grow as rows arrive, 3 at a time).
CREATE TABLE ev (id BIGINT, k AS MOD(id, 3)) WITH ('connector' = 'memtest', 'rows' = '7', 'splits' = '1', 'batch' = '3');
CREATE TABLE names (id BIGINT, name AS CONCAT('k', CAST(id AS STRING))) WITH ('connector' = 'memtest', 'rows' = '2', 'splits' = '1');

SELECT c.k, c.n, names.name
FROM (SELECT k, COUNT(*) AS n FROM ev GROUP BY k) AS c
LEFT JOIN names ON c.k = names.id;
