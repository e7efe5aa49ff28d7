-- Regular joins over bounded inputs: the left side's 6 rows arrive first (keys 0 1 2 3 0 1),
-- then the right side's (keys 1 2 3 1 2 3). An outer join emits its padded rows and
-- retracts them (-D) when a match arrives.
CREATE TABLE l (id BIGINT, k AS MOD(id, 4), a AS CONCAT('l', CAST(id AS STRING))) WITH ('connector' = 'memtest', 'rows' = '6', 'splits' = '1');
CREATE TABLE r (id BIGINT, k AS MOD(id, 3) + 1, b AS CONCAT('r', CAST(id AS STRING))) WITH ('connector' = 'memtest', 'rows' = '6', 'splits' = '1');

SELECT l.a, r.b, l.k FROM l JOIN r ON l.k = r.k;

SELECT l.a, r.b FROM l LEFT JOIN r ON l.k = r.k AND r.id > 1;

SELECT l.a, r.b, r.k FROM l RIGHT JOIN r ON l.k = r.k AND l.id < 4;

SELECT l.a, r.b FROM l FULL OUTER JOIN r ON l.k = r.k AND l.id + r.id > 5;

-- a comma join with its key in WHERE, and three inputs
SELECT l.a, r.b FROM l, r WHERE l.k = r.k AND l.id = 1;

SELECT l.a, r.b, x.b AS xb FROM l JOIN r ON l.k = r.k JOIN r AS x ON x.id = r.id + 1 WHERE l.id = 2;

-- a condition of the outer ON on the padded side of an inner LEFT JOIN filters that join's
-- output (it cannot go below it): only r rows with a match in x whose id is above 2 join
SELECT l.a, r.b, x.b AS xb FROM l JOIN (r LEFT JOIN r AS x ON x.id = r.id + 3) ON l.k = r.k AND x.id > 4;

-- IS NOT DISTINCT FROM is a key too, and its NULLs meet: keys N 1 2 3 N 1 against N 1 2 N 1 2
SELECT l.a, r.b FROM l JOIN r ON NULLIF(l.k, 0) IS NOT DISTINCT FROM NULLIF(r.k - 1, 0);
