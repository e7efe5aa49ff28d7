-- group aggregation: Calc <- GroupAggregate <- Exchange(hash[keys]) <- Calc(keys, arguments)
CREATE TABLE orders (id BIGINT, name STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source');
SELECT name, SUM(amount)
FROM orders
GROUP BY name;

-- the items and HAVING over the aggregation; DISTINCT and FILTER aggregates; a computed key
SELECT UPPER(name) AS who, COUNT(*) AS n, COUNT(DISTINCT id) AS ids, SUM(amount) FILTER (WHERE amount > 10) AS big,
       MAX(amount) - MIN(amount) AS spread, AVG(DISTINCT amount) AS mean
FROM orders
WHERE id > 0
GROUP BY UPPER(name)
HAVING COUNT(*) > 1;

-- LISTAGG, FIRST_VALUE, LAST_VALUE
SELECT id, LISTAGG(name, ';') AS names, FIRST_VALUE(amount) AS f, LAST_VALUE(name) AS l
FROM orders
GROUP BY id;
