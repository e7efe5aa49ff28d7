-- division of wide decimals by zero fails, naming the place and the value
SELECT w / v FROM (VALUES (CAST('12345678901234567890.5' AS DECIMAL(22, 1)), CAST(0 AS DECIMAL(20, 0)))) AS t(w, v);
