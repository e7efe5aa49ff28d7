-- A statement set: one sink root per INSERT, printed one after another.
CREATE TABLE src (id BIGINT, name STRING, amount INT) WITH ('connector' = 'test-source', 'topic' = 'src');
CREATE TABLE big (id BIGINT, amount INT) WITH ('connector' = 'test-sink', 'topic' = 'big');
CREATE TABLE small (id BIGINT, name STRING) WITH ('connector' = 'test-sink', 'topic' = 'small');

EXPLAIN EXECUTE STATEMENT SET BEGIN
  INSERT INTO big SELECT id, amount FROM src WHERE amount >= 1000;
  INSERT INTO small SELECT id, name FROM src WHERE amount < 1000;
END;

EXECUTE STATEMENT SET BEGIN
  INSERT INTO big SELECT id, amount FROM src;
END;
