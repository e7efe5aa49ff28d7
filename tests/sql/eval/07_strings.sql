-- string functions: Flink's 1-based positions, NULL in gives NULL out
SELECT UPPER(s), LOWER(s), INITCAP(s), CHAR_LENGTH(s), TRIM(s), LTRIM(s), RTRIM(s), TRIM(BOTH 'x' FROM s),
       SUBSTRING(s, 2, 3), SUBSTRING(s FROM -3), POSITION('l' IN s), s || '|', CONCAT(s, '-', s), CONCAT_WS('/', s, NULL, 'z'),
       REPLACE(s, 'l', ''), LPAD(s, 8, '*-'), RPAD(s, 3, '.'), SPLIT_INDEX(s, ' ', 1)
FROM (VALUES ('hello world'), ('  Padded  '), ('xxHIxx'), (''), (NULL)) AS t(s);
SELECT MD5(s), SHA1(s), SHA256(s) FROM (VALUES ('abc'), (''), (NULL)) AS t(s);
