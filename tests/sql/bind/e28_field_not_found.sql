CREATE TABLE t (addr ROW<city STRING, zip STRING>);
SELECT addr.cty FROM t;
