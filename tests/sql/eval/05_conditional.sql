-- CASE, COALESCE, NULLIF, IF, IFNULL, GREATEST, LEAST; a branch not taken is not evaluated
SELECT a, b,
       CASE WHEN b <> 0 THEN a / b ELSE -1 END,
       CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END,
       COALESCE(b, a, 0), NULLIF(a, 2), IF(a > 1, 'big', 'small'), IFNULL(b, 99),
       GREATEST(a, b, 1), LEAST(a, 2), COALESCE(CAST(NULL AS INT), 1.5)
FROM (VALUES (1, 0), (2, 2), (3, NULL), (4, 3)) AS t(a, b);
