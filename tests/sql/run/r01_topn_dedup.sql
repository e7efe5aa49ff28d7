-- Top-N and deduplication on one split (rows in id order): the changelog as rows enter and
-- leave the top 2 of each key. v = id * 7 mod 11, k = id mod 3.
CREATE TABLE ev (
  id BIGINT,
  k AS MOD(id, 3),
  v AS MOD(id * 7, 11),
  ts AS CAST(TIMESTAMPADD(SECOND, CAST(20 - id AS INT), TIMESTAMP '2024-01-01 00:00:00') AS TIMESTAMP(3)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memtest', 'rows' = '12', 'splits' = '1');

-- the row number selected: -U/+U as rows move between ranks
SELECT k, id, v, rn FROM (
  SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM ev
) WHERE rn <= 2;

-- without it: +I when a row enters the top 2, -D when it is pushed out
SELECT k, id, v FROM (
  SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM ev
) WHERE rn <= 2;

-- ranks 2 to 3 of the whole stream (no PARTITION BY)
SELECT id, v, rn FROM (SELECT id, v, ROW_NUMBER() OVER (ORDER BY v) AS rn FROM ev) WHERE rn BETWEEN 2 AND 3;

-- deduplication on event time: the earliest row per key; ts falls as id grows, so every
-- row replaces the one before (-U/+U)
SELECT k, id, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) AS rn FROM ev) WHERE rn = 1;

-- keeping the last row per key on event time: the first row stays
SELECT k, id, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM ev) WHERE rn = 1;
