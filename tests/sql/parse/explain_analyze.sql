-- Weir's extension: EXPLAIN ANALYZE runs the statement and prints the plan with figures
EXPLAIN ANALYZE SELECT k, COUNT(*) FROM t GROUP BY k;
explain analyze INSERT INTO out SELECT * FROM t WHERE x > 1;
EXPLAIN ANALYZE STATEMENT SET BEGIN
  INSERT INTO a SELECT * FROM b;
END
