-- JSON functions with Flink's path subset; lax mode by default
SELECT JSON_VALUE(j, '$.a'), JSON_VALUE(j, '$.b.c'), JSON_VALUE(j, '$.arr[1]'), JSON_VALUE(j, '$[''k k'']'),
       JSON_VALUE(j, '$.b'), JSON_VALUE(j, '$.missing'), JSON_VALUE(j, 'strict $.missing'), JSON_VALUE(j, '$.f'),
       JSON_VALUE(j, '$.t')
FROM (VALUES ('{"a": "x", "b": {"c": 42}, "arr": [1, 2.5, 3], "k k": true, "f": 1.0, "t": null}'), ('not json'), (NULL)) AS t(j);
SELECT JSON_QUERY(j, '$.b'), JSON_QUERY(j, '$.arr'), JSON_QUERY(j, '$.a'), JSON_QUERY(j, '$.arr[*]'), JSON_QUERY(j, '$'),
       JSON_EXISTS(j, '$.b.c'), JSON_EXISTS(j, '$.zz'), JSON_EXISTS(j, 'strict $.arr[5]'), JSON_EXISTS(j, 'lax $.arr[0]')
FROM (VALUES ('{"a": "x", "b": {"c": 42}, "arr": [1, {"d": [true]}]}'), ('[1, 2]'), ('{')) AS t(j);
-- JSON_STRING and JSON_ARRAY serialise values (JSON_ARRAY leaves NULLs out: ABSENT ON NULL)
SELECT JSON_STRING(1), JSON_STRING('a"b'), JSON_STRING(TRUE), JSON_STRING(ARRAY[1, 2]), JSON_STRING(MAP['k', 1.5]),
       JSON_STRING(CAST(NULL AS INT)), JSON_ARRAY(1, 'two', NULL, FALSE), JSON_ARRAY(JSON_ARRAY(1), ARRAY['x']), JSON_ARRAY(),
       JSON_STRING(ROW(1, 'x'))
FROM (VALUES (1)) AS t(x);
