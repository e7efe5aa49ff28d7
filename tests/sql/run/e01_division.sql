-- a runtime error fails the query with the expression's line:column
SELECT a / b AS q FROM (VALUES (4, 2), (1, 0)) AS t(a, b);
