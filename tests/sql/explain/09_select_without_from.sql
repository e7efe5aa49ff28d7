-- SELECT without FROM is one constant row.
SELECT 1 AS one, 'two' AS two, 3.5 AS three, TRUE AS yes, DATE '2024-01-31' AS d;

SELECT 1 + 2 AS sum, UPPER('x') AS up, CAST(NULL AS INT) AS nothing, INTERVAL '5' SECOND AS five;

SELECT 42 AS answer WHERE 1 > 0;
