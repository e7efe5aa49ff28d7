SELECT a FROM t;
/* never closed
SELECT b FROM t;
