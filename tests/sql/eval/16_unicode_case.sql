-- UPPER/LOWER/INITCAP map all of Unicode as Java's String methods do, with their special
-- casings: ß and ligatures grow, İ lower-cases to i + U+0307, a final Σ becomes ς.
SELECT UPPER(s) AS u, LOWER(s) AS l, INITCAP(s) AS i, CHAR_LENGTH(UPPER(s)) AS n
FROM (VALUES ('josé'), ('straße'), ('ΟΔΟΣ'), ('İstanbul'), ('ﬁne día'), ('élan-vital ÉTÉ'), ('日本 abc'), ('')) AS t(s)
