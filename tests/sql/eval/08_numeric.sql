-- numeric functions
SELECT ABS(i), SIGN(i), MOD(i, 4), ROUND(d, 1), ROUND(d), TRUNCATE(d, 1), FLOOR(d), CEIL(d), ABS(d), SIGN(d)
FROM (VALUES (-5, 2.45), (7, -2.55), (0, 0.00), (NULL, NULL)) AS t(i, d);
SELECT POWER(x, 2), SQRT(x), LN(x), LOG10(x), EXP(x), ROUND(x, 2), FLOOR(x), CEIL(x), ROUND(1234, -2)
FROM (VALUES (2.0E0), (100.0E0), (2.675E0)) AS t(x);
SELECT LOG2(x), LOG(x), LOG(2, x) FROM (VALUES (8.0E0), (1.0E0)) AS t(x);
