SELECT * FROM orders;
SELECT o.*, c.name AS customer, price * 2 doubled, `select` FROM orders o, customers AS c;
SELECT DISTINCT region FROM orders;
SELECT region, COUNT(*) AS n, SUM(total) AS revenue
FROM orders
WHERE status = 'paid' AND total > 0
GROUP BY region
HAVING COUNT(*) > 10
ORDER BY revenue DESC, region NULLS LAST
LIMIT 10;
SELECT a FROM t1 UNION ALL SELECT a FROM t2 UNION ALL SELECT a FROM t3;
SELECT a FROM t1 UNION SELECT a FROM t2 INTERSECT SELECT a FROM t3 EXCEPT SELECT a FROM t4;
(SELECT a FROM t1) UNION ALL (SELECT b FROM t2) ORDER BY a LIMIT 5 OFFSET 2;
SELECT 1 + 1, 'no from';
WITH recent AS (SELECT * FROM orders WHERE ts > CURRENT_TIMESTAMP - INTERVAL '1' HOUR),
     big AS (SELECT * FROM recent WHERE total > 100)
SELECT COUNT(*) FROM big;
VALUES (1, 'a'), (2, 'b');
