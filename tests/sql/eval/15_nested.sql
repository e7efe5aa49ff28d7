-- ARRAY, MAP and ROW values: constructors, element access, CARDINALITY
SELECT ARRAY[1, 2, 3], ARRAY['a', NULL], MAP['k', 1, 'v', 2], ROW(1, 'foo', TRUE), ARRAY[ARRAY[1], ARRAY[2, 3]],
       MAP['a', ARRAY[1.5]], ARRAY[CAST('12345678901234567890.5' AS DECIMAL(21, 1))];
SELECT ARRAY[a, b][1], ARRAY[a, b][2], ARRAY[a, b][3], ARRAY[a, b][0], CARDINALITY(ARRAY[a, b, a]),
       MAP['x', a, 'y', b]['y'], MAP['x', a]['nope'], MAP['x', a, 'x', b]['x'], CARDINALITY(MAP['x', a, 'x', b]),
       ROW(a, s).EXPR$1
FROM (VALUES (1, 10, 'p'), (NULL, 20, NULL), (3, NULL, 'q')) AS t(a, b, s);
SELECT ARRAY[s, 'z'][2], ARRAY[ARRAY[a], ARRAY[a, b]][2][2], CARDINALITY(ARRAY[ARRAY[a]][1]) FROM (VALUES (1, 2, 'p')) AS t(a, b, s);
-- a nested value cast to a string reads as Flink prints it
SELECT CAST(ARRAY[1, NULL] AS STRING), CAST(MAP['a', ROW(1, 'x')] AS STRING), CAST(ARRAY['abcdef'] AS VARCHAR(4));
