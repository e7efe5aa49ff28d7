SELECT t.a FROM (SELECT a FROM src WHERE a > 0) AS t;
SELECT * FROM (SELECT a FROM src) sub (x);
SELECT * FROM orders o JOIN customers c ON o.cid = c.id;
SELECT * FROM orders o LEFT JOIN customers c ON o.cid = c.id
  RIGHT OUTER JOIN regions r USING (region_id)
  FULL JOIN x ON TRUE
  CROSS JOIN y
  INNER JOIN z ON z.k = y.k;
SELECT o.id, r.rate FROM orders AS o
  JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.currency = r.currency;
SELECT * FROM orders o, LATERAL TABLE(split(o.tags)) AS t(tag);
SELECT * FROM orders o LEFT JOIN LATERAL TABLE(split(o.tags)) AS t(tag) ON TRUE;
SELECT * FROM orders CROSS JOIN UNNEST(tags) AS t (tag);
SELECT * FROM (orders o JOIN items i ON o.id = i.oid);
SELECT * FROM cat.db.tbl;
