-- LIMIT (and OFFSET) across the job
SELECT * FROM (VALUES (1), (2), (3), (4), (5)) AS t(n) LIMIT 2;
SELECT * FROM (VALUES (1), (2), (3), (4), (5)) AS t(n) LIMIT 2 OFFSET 2;
SELECT * FROM (VALUES (1), (2), (3)) AS t(n) LIMIT 0;
SELECT * FROM (VALUES (1), (2), (3)) AS t(n) WHERE n > 5;
