EXECUTE STATEMENT SET
BEGIN
  INSERT INTO pageviews SELECT page, ts FROM clicks WHERE kind = 'view';
  INSERT INTO purchases (page, amount) SELECT page, amount FROM clicks WHERE kind = 'buy';
END;
