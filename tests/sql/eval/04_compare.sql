-- comparisons, IN, BETWEEN and LIKE with NULLs; WHERE keeps only TRUE rows
SELECT a, s, a = 3, a <> 3, a < 3, a >= 3, a IN (1, 3, NULL), a NOT IN (1, 2), a BETWEEN 2 AND 4,
       a NOT BETWEEN 2 AND 4, s LIKE 'a%', s LIKE '_b_', s NOT LIKE '%c', s LIKE 'a!%%' ESCAPE '!'
FROM (VALUES (1, 'abc'), (3, 'a%x'), (5, 'xbc'), (NULL, NULL)) AS t(a, s);
SELECT a, s FROM (VALUES (1, 'abc'), (3, 'a%x'), (5, 'xbc'), (NULL, NULL), (4, 'b')) AS t(a, s)
WHERE a > 1 AND s <> 'b';
SELECT s < 'b', s = 'abc', 'abc' < 'abd', 2 < 10, '10' = 10 FROM (VALUES ('abc'), ('b')) AS t(s);
