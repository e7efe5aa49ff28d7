SELECT
  42, 0, 3.14, .5, 7., 1e3, 2.5E-3, 1E+10,
  'text', 'it''s', '', X'0aFF',
  TRUE, FALSE, NULL, true,
  DATE '2024-01-31', TIME '12:00:00', TIMESTAMP '2024-01-31 12:00:00.123',
  INTERVAL '5' SECOND, INTERVAL '10' MINUTES, INTERVAL '1' DAY, INTERVAL '2' HOURS,
  INTERVAL '1-6' YEAR TO MONTH, INTERVAL '1 02:03' DAY TO MINUTE, INTERVAL -'3' MONTH,
  -INTERVAL '1' YEAR,
  arr[1], m['key'], arr[i + 1][2],
  r.field, t.r.field.sub, (r).field, f(x).y, m['k'].f, arr[1].name
FROM t;
