SELECT f(a, b FROM t;
