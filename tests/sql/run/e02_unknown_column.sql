CREATE VIEW v AS SELECT * FROM (VALUES (1, 'x')) AS t(id, name);
SELECT id, nmae FROM v;
