-- edge values: huge exponents, saturating double-to-integer casts, empty and odd strings
SELECT TRY_CAST('1e400' AS DECIMAL(10, 2)), TRY_CAST('-1e-400' AS DECIMAL(10, 2)), TRY_CAST('99999999999999999999' AS BIGINT),
       CAST(1.0E300 AS BIGINT), CAST(-1.0E300 AS INT), CAST(CAST('NaN' AS DOUBLE) AS INT), TRY_CAST('' AS INT),
       TRY_CAST('+' AS INT), TRY_CAST('1.5.5' AS INT), TRY_CAST('2024-02-30' AS DATE), TRY_CAST('24:00:00' AS TIME),
       SUBSTRING('abc', 0), SUBSTRING('abc', 5), SUBSTRING('abc', 2, -1), LPAD('ab', -1, 'x'), RPAD('ab', 4, ''),
       SPLIT_INDEX('a,b', ',', 5), SPLIT_INDEX('a,b', '', 0), POSITION('' IN 'abc'), ROUND(1.0E300, 2), FLOOR(-0.5E0),
       CHAR_LENGTH('héllo'), UPPER('héllo'), SUBSTRING('héllo', 2, 2), 'é' LIKE '_', REPLACE('aaa', 'aa', 'b');
