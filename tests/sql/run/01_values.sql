-- VALUES queries: rows as Flink's SQL client prints them (tableau, op column)
VALUES (1, 'one'), (2, 'two'), (3, CAST(NULL AS STRING));
SELECT * FROM (VALUES (1, 2.5), (-7, 0.25)) AS t(a, b);
SELECT a * 10 AS a10, UPPER(s) AS s FROM (VALUES (1, 'x'), (2, 'y'), (3, 'z')) AS t(a, s) WHERE a <> 2;
