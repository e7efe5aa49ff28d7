SELECT a,
       FROM t;
