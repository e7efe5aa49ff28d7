-- line comment
/* block
   comment */ select /* inline */ A, `weird name`, `back``tick`, `SELECT` -- trailing
FrOm T wHeRe `a` = 'O''Reilly' -- comment at end
;
SELECT 'multi
line string', `ünïcödé`, üñí FROM t;
SELECT a<>b, a!=b, a<=b, a>=b, a||b, a%b FROM t;
