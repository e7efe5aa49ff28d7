-- views over VALUES, and views over views
CREATE VIEW people AS SELECT * FROM (VALUES (1, 'Ann', 34), (2, 'Bob', 17), (3, 'Cid', 51)) AS t(id, name, age);
CREATE VIEW adults AS SELECT id, name FROM people WHERE age >= 18;
SELECT * FROM adults;
SELECT name, age + 1 AS next_age FROM people WHERE name LIKE '%b%' OR name = 'Cid';
