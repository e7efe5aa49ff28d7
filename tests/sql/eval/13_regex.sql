-- regular expressions with Java's semantics (PCRE2 underneath)
SELECT REGEXP(s, 'b+'), REGEXP(s, '^a'), REGEXP_EXTRACT(s, '([a-z]+)-(\d+)', 2), REGEXP_EXTRACT(s, '([a-z]+)-(\d+)'),
       REGEXP_EXTRACT(s, '([a-z]+)-(\d+)', 1), REGEXP_EXTRACT(s, '(x)?y', 1), REGEXP_EXTRACT(s, '([a-z]+)', 3)
FROM (VALUES ('abb-12'), ('zzz'), ('xy'), (NULL)) AS t(s);
SELECT REGEXP_REPLACE(s, '(\w+)@(\w+)', '$2 at $1'), REGEXP_REPLACE(s, 'o', '0'), REGEXP_REPLACE(s, 'x*', '-'),
       REGEXP_REPLACE(s, '[.]', '\$'), REGEXP_REPLACE(s, 'é', 'e')
FROM (VALUES ('bob@home.org'), ('abc'), ('café')) AS t(s);
SELECT STR_TO_MAP(s), STR_TO_MAP(s, ';', ':'), CARDINALITY(STR_TO_MAP(s)), STR_TO_MAP(s)['b'], STR_TO_MAP('a=1,a=2')['a']
FROM (VALUES ('a=1,b=2,c'), ('x:1;y:2'), (''), (NULL)) AS t(s);
-- the delimiters are regular expressions, as in Flink
SELECT STR_TO_MAP('k1 => v1 |  k2 => v2', '\s*\|\s*', '\s*=>\s*');
