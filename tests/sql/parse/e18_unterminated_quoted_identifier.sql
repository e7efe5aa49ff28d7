SELECT `unclosed FROM t;
