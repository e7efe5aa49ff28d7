SELECT CAST(s AS BOOLEAN) FROM (VALUES ('true'), ('maybe')) AS t(s);
