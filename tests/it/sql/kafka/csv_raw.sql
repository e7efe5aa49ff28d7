-- CSV in, raw and CSV out.
CREATE TABLE lines (id INT, name STRING, price DECIMAL(6, 2)) WITH (
  'connector' = 'kafka', 'topic' = 'kt_csv_in', 'format' = 'csv',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE labels (label STRING) WITH ('connector' = 'kafka', 'topic' = 'kt_raw_out', 'format' = 'raw');
CREATE TABLE cheap (name STRING, id INT) WITH (
  'connector' = 'kafka', 'topic' = 'kt_csv_out', 'format' = 'csv', 'csv.field-delimiter' = ';'
);
EXECUTE STATEMENT SET BEGIN
  INSERT INTO labels SELECT CONCAT(name, ' costs ', CAST(price AS STRING)) FROM lines;
  INSERT INTO cheap SELECT name, id FROM lines WHERE price < 5;
END;
