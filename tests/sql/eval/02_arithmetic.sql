-- integer arithmetic wraps around as in Java; DECIMAL keeps its scale; DOUBLE follows IEEE
SELECT a + b, a - b, a * b, a / b, a % b, -a, MOD(a, b)
FROM (VALUES (7, 2), (-7, 2), (7, -2), (2147483647, 1), (NULL, 3), (-2147483648, -1)) AS t(a, b);
SELECT x + y, x - y, x * y, x / y, x % y
FROM (VALUES (1.50, 0.25), (-3.10, 2.00), (NULL, 1.00)) AS t(x, y);
SELECT d / e, d * e, d + 1, CAST(d AS INT) / 2
FROM (VALUES (1.0E0, 0.0E0), (-1.0E0, 0.0E0), (0.0E0, 0.0E0), (3.0E0, 4.0E0), (1.0E20, 2.0E-3)) AS t(d, e);
SELECT CAST(127 AS TINYINT) + CAST(1 AS TINYINT), CAST(300 AS TINYINT), CAST(70000 AS SMALLINT), 9223372036854775807 + 1;
SELECT CAST(2147483647 AS INT) + 1, CAST(-2147483648 AS INT) - 1, CAST(65536 AS INT) * 65536, -CAST(-2147483648 AS INT);
