SELECT
  CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END AS sign,
  CASE status WHEN 1 THEN 'new' WHEN 2 THEN 'paid' END AS status_name,
  CASE WHEN a IS NULL THEN NULL END,
  CAST(a AS STRING),
  CAST(price AS DECIMAL(10, 2)),
  CAST(ts AS TIMESTAMP(3)),
  CAST(x AS ARRAY<INT>),
  TRY_CAST(raw AS BIGINT),
  try_cast(raw AS INT NOT NULL)
FROM t;
