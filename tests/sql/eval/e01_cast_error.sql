-- a failed CAST names the function and the row's value
SELECT CAST(s AS INT) FROM (VALUES ('1'), ('x2')) AS t(s);
