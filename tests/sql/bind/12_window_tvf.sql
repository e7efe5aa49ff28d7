CREATE TABLE Bid (
  bidtime TIMESTAMP(3),
  price DECIMAL(10, 2),
  item STRING,
  supplier_id STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
);

SELECT * FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES));

SELECT window_start, window_end, SUM(price) AS total
FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

SELECT window_start, window_end, item, COUNT(*) FROM TABLE(
  HOP(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES)) AS w
GROUP BY window_start, window_end, item;

SELECT window_time, SUM(price) FROM TABLE(
  CUMULATE(DATA => TABLE Bid, TIMECOL => DESCRIPTOR(bidtime),
           STEP => INTERVAL '2' MINUTES, SIZE => INTERVAL '10' MINUTES))
GROUP BY window_start, window_end, window_time;

SELECT window_start, item, MAX(price)
FROM TABLE(SESSION(TABLE Bid PARTITION BY item, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES))
GROUP BY window_start, window_end, item;

CREATE TABLE Clicks (url STRING, pt AS PROCTIME());
SELECT url, window_time FROM TABLE(TUMBLE(TABLE Clicks, DESCRIPTOR(pt), INTERVAL '1' MINUTE));
