-- widths follow the types (as Flink's tableau does for a streaming result): integers,
-- booleans, dates, times and timestamps by their widest value, others 30 with "..."
SELECT CAST(1 AS TINYINT) AS t, CAST(2 AS SMALLINT) AS s, CAST(3 AS BIGINT) AS b, FALSE AS f,
       TIME '12:34:56' AS tm, CAST(TIMESTAMP '2024-01-31 23:59:59' AS TIMESTAMP(0)) AS ts0,
       1.5E0 AS dbl, 'exactly thirty characters long' AS thirty, 'thirty-one characters long, cut' AS thirty_one;
SELECT a, b, a / b AS q, CASE WHEN b = 0 THEN 'none' ELSE 'some' END AS c
FROM (VALUES (7, 2), (9, 3)) AS t(a, b);
-- wide characters take two cells, in the width and when cutting
SELECT '日本語' AS jp, '東京都渋谷区神南一丁目の交差点から見える景色' AS cut;
