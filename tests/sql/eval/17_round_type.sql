-- ROUND/TRUNCATE of a DECIMAL with literal digits narrow the scale as Flink's
-- findRoundDecimalType: ROUND(2.5, 0) is DECIMAL(2, 0) and prints 3; negative digits give
-- scale 0 and one more digit for the carry (DECIMAL(18, 0) becomes DECIMAL(19, 0)).
SELECT ROUND(2.5, 0) AS r0, ROUND(2.5) AS r1, TRUNCATE(2.59, 1) AS t1, ROUND(12.345, 2) AS r2,
       ROUND(12.345, 5) AS r5, ROUND(CAST(999999999999999999 AS DECIMAL(18, 0)), -1) AS big,
       ROUND(-2.5, 0) AS neg, ROUND(x, 1) AS col, ROUND(x, n) AS nonliteral
FROM (VALUES (CAST(9.95 AS DECIMAL(4, 2)), 1)) AS t(x, n)
