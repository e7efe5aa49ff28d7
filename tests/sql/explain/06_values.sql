-- VALUES: constant rows, cast to the common column types.
VALUES (1, 'a'), (2, 'bb'), (3, CAST(NULL AS STRING));

SELECT x * 2 AS doubled, UPPER(s) AS s FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, s) WHERE x > 1;

CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'test-sink');

INSERT INTO out VALUES (1, 'one'), (2, 'two');
