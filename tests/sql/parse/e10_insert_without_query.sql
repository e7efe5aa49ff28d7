INSERT INTO sink
  FROM src;
