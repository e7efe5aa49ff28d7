"""Seeded random rows for the SQL oracle tests (tests/it/test_sql_oracle.py): the same rows
go to Weir topics as JSON records and into SQLite tables, so a stateless query run by
`weir sql` can be compared with the same query run by SQLite.

The rows exercise what JSON decoding and the evaluator must get right: ints (negative
too), DECIMAL(7, 2) amounts written as JSON numbers in several spellings, doubles, strings
with Unicode (Latin, CJK, emoji outside the BMP), LIKE metacharacters and quotes, booleans,
SQL-format timestamps with and without fractions, NULLs written both as `null` and as a
missing field, fields in random order and unknown extra fields (which Flink ignores).
"""

import json
import random
from decimal import Decimal

# Flink's DDL of the source tables (metadata columns are added by the tests that need them)
COLUMNS_DDL = """  id BIGINT,
  k INT,
  amount DECIMAL(7, 2),
  price DOUBLE,
  name STRING,
  cat STRING,
  flag BOOLEAN,
  ts TIMESTAMP(3),
  pad STRING,
  code STRING,
  note STRING"""

SQLITE_DDL = ("id INTEGER, k INTEGER, amount REAL, price REAL, name TEXT, cat TEXT, flag INTEGER, "
              "ts TEXT, pad TEXT, code TEXT, note TEXT, part INTEGER, off INTEGER")

FIELDS = ["id", "k", "amount", "price", "name", "cat", "flag", "ts", "pad", "code", "note"]

# Characters inside the BMP only: Flink's CHAR_LENGTH/SUBSTRING count UTF-16 units, so
# names avoid surrogate pairs (notes carry emoji; they are only passed through).
NAME_WORDS = ["alice", "bob", "Bob", "zoë", "José", "Ærøskøbing", "straße", "中文名", "ñandú",
              "o'brien", "a_b", "50%", "x", "Olga", "ömer", "ALPHA", "beta", "año", "día",
              "Ωmega", "kraków", "a", "oo", "été", "naïve", "x_y", "abc", "Ängel"]
CATEGORIES = ["books", "games", "música", "tools", "b-side", "Books", "garden", "bücher"]
NOTE_BITS = ["ok", "😀", "tab\there", "line\nbreak", 'quote "q"', "back\\slash", "ünï", "🚀 go",
             "€", "日本", "", " ", "{json}", "a,b"]
PADS = ["  ab c ", "x", "   ", " left", "right  ", "\tx ", "", "  ü  "]


def _maybe(rnd, p, v):
    return None if rnd.random() < p else v


def make_rows(seed, n, id_base):
    """n rows as dicts of Python values (Decimal amounts, 'YYYY-MM-DD HH:MM:SS.fff'
    timestamps or None)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        name = None
        if rnd.random() >= 0.07:
            name = rnd.choice(NAME_WORDS)
            if rnd.random() < 0.5:
                name += rnd.choice([" ", "-", "", "_"]) + rnd.choice(NAME_WORDS)
        amount = _maybe(rnd, 0.08, Decimal(rnd.randint(-50000, 999999)) / 100)
        price = None
        if rnd.random() >= 0.08:
            price = round(rnd.uniform(-100.0, 1000.0), rnd.choice([0, 1, 3, 6]))
        ts = None
        if rnd.random() >= 0.06:
            ms = rnd.choice([0, rnd.randint(0, 999)])
            ts = "2024-%02d-%02d %02d:%02d:%02d.%03d" % (
                rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59),
                rnd.randint(0, 59), ms)
        code = None
        if rnd.random() >= 0.05:
            code = rnd.choice(["", " ", "  "]) + str(rnd.randint(-999, 9999)) + rnd.choice(["", " "])
        note = None
        if rnd.random() >= 0.1:
            note = "".join(rnd.choice(NOTE_BITS) for _ in range(rnd.randint(0, 3)))
        rows.append({
            "id": id_base + i,
            "k": _maybe(rnd, 0.08, rnd.randint(-20, 120)),
            "amount": amount,
            "price": price,
            "name": name,
            "cat": _maybe(rnd, 0.06, rnd.choice(CATEGORIES)),
            "flag": _maybe(rnd, 0.1, rnd.random() < 0.5),
            "ts": ts,
            "pad": _maybe(rnd, 0.05, rnd.choice(PADS)),
            "code": code,
            "note": note,
        })
    return rows


def _decimal_text(rnd, d):
    """An amount as a JSON number in one of the spellings a producer may use."""
    q = d.quantize(Decimal("0.01"))
    form = rnd.randint(0, 3)
    if form == 0:
        return format(q, "f")                      # 12.30
    if form == 1:
        return format(q.normalize(), "f")          # 12.3 / 12
    if form == 2 and q == q.to_integral_value():
        return str(int(q))                         # 12
    return format(q, "f")


def _ts_text(rnd, ts):
    """A timestamp in Flink's JSON 'SQL' format, sometimes without the fraction."""
    if ts.endswith(".000") and rnd.random() < 0.5:
        return ts[:-4]
    return ts


def encode_json(rnd, row):
    """The row as one JSON record: fields shuffled, NULLs as null or left out, now and
    then an unknown extra field, ASCII-escaped or raw UTF-8."""
    keys = list(FIELDS)
    rnd.shuffle(keys)
    parts = []
    ensure_ascii = rnd.random() < 0.5
    for key in keys:
        v = row[key]
        if v is None:
            if key != "id" and rnd.random() < 0.4:
                continue                           # missing field: NULL (fail-on-missing-field false)
            text = "null"
        elif key == "amount":
            text = _decimal_text(rnd, v)
        elif key == "price":
            text = repr(float(v))
        elif key == "ts":
            text = json.dumps(_ts_text(rnd, v))
        elif key == "flag":
            text = "true" if v else "false"
        elif isinstance(v, str):
            text = json.dumps(v, ensure_ascii=ensure_ascii)
        else:
            text = str(v)
        parts.append("%s:%s" % (json.dumps(key), text))
    if rnd.random() < 0.1:
        parts.insert(rnd.randint(0, len(parts)), '"extra":{"nested":[1,2,{"x":"y"}]}')
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def sqlite_values(row, part, off):
    """The row as the SQLite table's values (amount as REAL, flag as 0/1)."""
    return (row["id"], row["k"], None if row["amount"] is None else float(row["amount"]), row["price"],
            row["name"], row["cat"], None if row["flag"] is None else int(row["flag"]), row["ts"],
            row["pad"], row["code"], row["note"], part, off)


def load_sqlite(db, table, rows, positions):
    """Creates table in the SQLite db holding rows, each with the (partition, offset) its
    record got (positions, in the same order; see sqltest.produce_values)."""
    db.execute("CREATE TABLE %s (%s)" % (table, SQLITE_DDL))
    db.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * 13)),
                   [sqlite_values(r, part, off) for r, (part, off) in zip(rows, positions)])
