-- a VALUES row that cannot be evaluated fails the query before it prints anything
SELECT * FROM (VALUES (1, 'a'), (2, CAST(CAST('x2' AS INT) AS STRING))) AS t(n, s);
