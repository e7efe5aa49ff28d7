SELECT a OR b AND c, (a OR b) AND c, NOT a AND b, NOT (a AND b) FROM t;
SELECT a + b * c, (a + b) * c, a - b - c, a / b % c, -a * b, - - a, +a FROM t;
SELECT a || b || c, 'x' || a + 1, a = b + 1, a + 1 < b * 2 OR c >= d FROM t;
SELECT a = 1 AND b <> 2 AND c != 3 AND d < 4 AND e <= 5 AND f > 6 AND g >= 7 FROM t;
SELECT NOT a = b, a IS NULL AND b IS NOT NULL OR c FROM t;
