-- SELECT without FROM: one row
SELECT 1, 'hello', TRUE, CAST(NULL AS INT) AS n;
SELECT 1 + 2 AS three, DATE '2024-02-29' AS d, TIMESTAMP '2024-01-31 23:59:59.123' AS ts;
SELECT 'a value much longer than thirty characters, cut with dots' AS long_text, CAST(12.5 AS DECIMAL(5, 2)) AS dec;
