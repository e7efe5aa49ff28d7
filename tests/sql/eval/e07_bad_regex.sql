-- an invalid regular expression fails, naming the function, the pattern and where
SELECT s, REGEXP(s, p) FROM (VALUES ('abc', 'a'), ('abc', 'a(b')) AS t(s, p);
