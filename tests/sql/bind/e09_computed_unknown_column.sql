CREATE TABLE t (
  price DECIMAL(10, 2),
  qty INT,
  total AS prise * qty
);
