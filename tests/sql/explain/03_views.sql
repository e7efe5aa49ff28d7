-- Views are planned from their query; the outer CALC merges into the view's.
CREATE TABLE clicks (
  user_id BIGINT,
  url STRING,
  referrer STRING,
  ms INT
) WITH ('connector' = 'test-source', 'topic' = 'clicks');

CREATE VIEW slow_clicks AS SELECT user_id, url, ms / 1000 AS secs FROM clicks WHERE ms > 500;

CREATE VIEW slow_pages (page, seconds) AS SELECT url, secs FROM slow_clicks;

SELECT page FROM slow_pages WHERE seconds > 2;

CREATE TABLE out (user_id BIGINT, url STRING, secs INT) WITH ('connector' = 'test-sink', 'topic' = 'slow');

INSERT INTO out SELECT * FROM slow_clicks;
