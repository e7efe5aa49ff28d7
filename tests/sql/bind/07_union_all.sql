CREATE TABLE a (id INT, name VARCHAR(10), price DECIMAL(5, 2), ts TIMESTAMP(3));
CREATE TABLE b (id BIGINT, name CHAR(3), price DECIMAL(10, 4), ts TIMESTAMP(6));

SELECT id, name, price, ts FROM a
UNION ALL
SELECT id, name, price, ts FROM b;

SELECT id, name FROM a UNION ALL SELECT id, CAST(NULL AS STRING) FROM b UNION ALL SELECT 1, 'x';

VALUES (1, 'a'), (2.5, 'bcd'), (NULL, NULL);
