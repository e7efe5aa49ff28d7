#!/usr/bin/python3
"""gen_kafka.py — generates Weir's Kafka message codecs from Kafka's protocol tables.

Usage: gen_kafka.py <protocol-dir> <out-dir>

Reads every *Request.json / *Response.json (plus RequestHeader, ResponseHeader and the
ConsumerProtocol* payloads) in <protocol-dir> and writes <out-dir>/messages.h and
<out-dir>/messages.c: one C struct per message and nested struct, _init/_decode/_encode
functions, the API table and test-only sample fillers. Stdlib only; output is
deterministic (same input, same bytes)."""

import glob
import json
import os
import re
import sys

PRIMS = {
    # type: (C type, reader, writer, min size)
    "int8": ("int8_t", "weir_kread_int8", "weir_kwrite_int8", 1),
    "int16": ("int16_t", "weir_kread_int16", "weir_kwrite_int16", 2),
    "int32": ("int32_t", "weir_kread_int32", "weir_kwrite_int32", 4),
    "int64": ("int64_t", "weir_kread_int64", "weir_kwrite_int64", 8),
    "uint16": ("uint16_t", "weir_kread_uint16", "weir_kwrite_uint16", 2),
    "uint32": ("uint32_t", "weir_kread_uint32", "weir_kwrite_uint32", 4),
    "float64": ("double", "weir_kread_float64", "weir_kwrite_float64", 8),
    "bool": ("bool", "weir_kread_bool", "weir_kwrite_bool", 1),
}
INT_RANGES = {
    "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1), "int32": (-2**31, 2**31 - 1),
    "int64": (-2**63, 2**63 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
}
C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while bool true false""".split())
VMAX = 0x7FFF


def die(msg):
    sys.stderr.write("gen_kafka.py: %s\n" % msg)
    sys.exit(1)


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Versions:
    """A version range as the tables write it: "3+", "0-7", "5", "none"."""

    def __init__(self, spec):
        spec = (spec or "none").strip()
        if spec == "none":
            self.lo, self.hi = 1, 0
        elif spec.endswith("+"):
            self.lo, self.hi = int(spec[:-1]), VMAX
        elif "-" in spec:
            a, b = spec.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(spec)

    def empty(self):
        return self.lo > self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi

    def intersect(self, other):
        r = Versions("none")
        r.lo, r.hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return r

    def minus(self, other):
        """self without other, where other is open-ended or a suffix (tagged versions)."""
        if other is None or other.empty():
            return self
        r = Versions("none")
        if other.lo <= self.lo:
            r.lo, r.hi = max(self.lo, other.hi + 1), self.hi
        else:
            r.lo, r.hi = self.lo, min(self.hi, other.lo - 1)
            if other.hi < self.hi:
                die("tagged versions in the middle of a field's versions are not supported")
        return r


class Field:
    pass


class Struct:
    def __init__(self, msg, name, fields_json):
        self.msg = msg
        self.name = name
        self.cname = "%s_%s" % (msg.cname, snake(name)) if name != msg.name else msg.cname
        self.fields_json = fields_json
        self.fields = []


class Message:
    def __init__(self, path):
        text = open(path, encoding="utf-8").read()
        text = "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("//"))
        try:
            d = json.loads(text)
        except ValueError as e:
            die("%s: %s" % (path, e))
        self.json = d
        self.name = d["name"]
        self.type = d["type"]
        self.api_key = d.get("apiKey")
        self.cname = "weir_" + snake(self.name)
        self.valid = Versions(d["validVersions"])
        self.flex = Versions(d.get("flexibleVersions", "none"))
        self.structs = {}      # name -> Struct
        self.order = []        # Structs, children before parents
        self.common = {}
        for cs in d.get("commonStructs", []):
            self.common[cs["name"]] = cs
        self.top = Struct(self, self.name, d["fields"])
        self.structs[self.name] = self.top
        self.visiting = set()
        self.build(self.top)
        # Common structs nobody references are still generated, after the rest.
        for name in sorted(self.common):
            if name not in self.structs:
                s = Struct(self, name, self.common[name]["fields"])
                self.structs[name] = s
                self.build(s)

    def struct_for(self, tname, fj):
        if tname in self.structs:
            if "fields" in fj and tname not in self.common and self.structs[tname].fields_json != fj["fields"]:
                die("%s: struct %s defined twice" % (self.name, tname))
            return self.structs[tname]
        if "fields" in fj:
            fields = fj["fields"]
        elif tname in self.common:
            fields = self.common[tname]["fields"]
        else:
            die("%s: unknown struct type %s" % (self.name, tname))
        s = Struct(self, tname, fields)
        self.structs[tname] = s
        self.build(s)
        return s

    def build(self, s):
        if s.name in self.visiting:
            die("%s: recursive struct %s" % (self.name, s.name))
        self.visiting.add(s.name)
        members = set()
        for fj in s.fields_json:
            f = Field()
            f.json = fj
            f.name = fj["name"]
            f.snake = snake(f.name)
            if f.snake in C_KEYWORDS:
                f.snake += "_"
            f.versions = Versions(fj["versions"]).intersect(self.valid)
            f.nullable = Versions(fj.get("nullableVersions", "none"))
            f.tagged = Versions(fj["taggedVersions"]) if "taggedVersions" in fj else None
            f.tag = fj.get("tag")
            if (f.tag is None) != (f.tagged is None):
                die("%s.%s: tag without taggedVersions" % (self.name, f.name))
            f.regular = f.versions.minus(f.tagged)
            f.fflex = Versions(fj["flexibleVersions"]) if "flexibleVersions" in fj else None
            f.default = fj.get("default")
            f.about = fj.get("about", "")
            t = fj["type"]
            f.type = t
            f.array = t.startswith("[]")
            et = t[2:] if f.array else t
            f.elem = et
            f.struct = None
            if et in PRIMS or et in ("string", "bytes", "records", "uuid"):
                f.kind = et
                if "fields" in fj:
                    die("%s.%s: primitive with fields" % (self.name, f.name))
            else:
                f.kind = "struct"
                f.struct = self.struct_for(et, fj)
            f.ptr = f.kind == "struct" and not f.array and not f.nullable.empty()
            for mname in ([f.snake, f.snake + "_count"] if f.array else [f.snake]):
                if mname in members:
                    die("%s.%s: member %s twice" % (s.name, f.name, mname))
                members.add(mname)
            s.fields.append(f)
        self.visiting.discard(s.name)
        self.order.append(s)


# ---- C expressions ------------------------------------------------------------------


def cond(msg, vs):
    """A C condition for "version is in vs", simplified over the message's valid
    versions. Returns True/False when it is constant."""
    if vs is None:
        return False
    r = vs.intersect(msg.valid)
    if r.empty():
        return False
    parts = []
    if r.lo > msg.valid.lo:
        parts.append("version >= %d" % r.lo)
    if r.hi < msg.valid.hi:
        parts.append("version <= %d" % r.hi)
    if not parts:
        return True
    return " && ".join(parts)


def cbool(c):
    if c is True:
        return "true"
    if c is False:
        return "false"
    return "(%s)" % c


def compact_expr(msg, f):
    if f.fflex is not None:
        return cbool(cond(msg, f.fflex))
    return "flex"


def int_literal(t, v):
    lo, hi = INT_RANGES[t]
    if not lo <= v <= hi:
        die("default %d out of range for %s" % (v, t))
    if t == "int64":
        return "INT64_MIN" if v == lo else "INT64_C(%d)" % v
    if t == "int32" and v == lo:
        return "INT32_MIN"
    if t == "uint32":
        return "UINT32_C(%d)" % v
    return str(v)


def parse_int(s):
    s = str(s).strip()
    try:
        return int(s, 0)
    except ValueError:
        return int(s, 10)


def c_string_literal(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            for b in ch.encode("utf-8"):
                out.append("\\%03o" % b)
    return '"%s"' % "".join(out)


def default_of(f):
    """The field's default as a Python value: int/float/bool/str/None (null)."""
    d = f.default
    k = f.kind
    if f.array:
        if d is not None and str(d) == "null":
            return None
        return 0
    if k == "struct":
        return None if (d is not None and str(d) == "null") else "struct"
    if k in INT_RANGES:
        return parse_int(d) if d is not None else 0
    if k == "float64":
        return float(d) if d is not None else 0.0
    if k == "bool":
        return str(d).lower() == "true" if d is not None else False
    if k == "string":
        if d is None:
            return ""
        return None if d == "null" else str(d)
    if k == "bytes":
        return None if (d is not None and str(d) == "null") else ""
    if k == "records":
        return None
    return 0  # uuid: zero


# ---- C generation -------------------------------------------------------------------


class Out:
    def __init__(self):
        self.lines = []

    def __call__(self, s=""):
        self.lines.append(s)

    def text(self):
        return "\n".join(self.lines) + "\n"


def elem_ctype(f):
    if f.kind == "struct":
        return "struct %s" % f.struct.cname
    if f.kind in PRIMS:
        return PRIMS[f.kind][0]
    if f.kind == "string":
        return "weir_str"
    if f.kind in ("bytes", "records"):
        return "weir_bytes"
    if f.kind == "uuid":
        return "uint8_t"
    die("unknown kind " + f.kind)


def vs_text(vs):
    if vs is None or vs.empty():
        return "none"
    if vs.hi == VMAX:
        return "%d+" % vs.lo
    if vs.lo == vs.hi:
        return "%d" % vs.lo
    return "%d-%d" % (vs.lo, vs.hi)


def member_comment(f):
    bits = ["v" + f.json["versions"]]
    if not f.nullable.empty():
        bits.append("nullable " + f.json["nullableVersions"])
    if f.tagged is not None:
        bits.append("tag %d in %s" % (f.tag, f.json["taggedVersions"]))
    if f.default is not None:
        bits.append("default %s" % f.default)
    about = " ".join(f.about.split())
    if len(about) > 90:
        about = about[:87].rstrip() + "..."
    about = about.replace("*/", "* /").replace("/*", "/ *")
    return "/* %s. %s */" % (", ".join(bits), about) if about else "/* %s */" % ", ".join(bits)


def emit_struct_def(o, s):
    o("struct %s {" % s.cname)
    if not s.fields:
        o("    char unused_; /* no fields */")
    for f in s.fields:
        o("    " + member_comment(f))
        if f.array:
            o("    int32_t %s_count;" % f.snake)
            if f.kind == "uuid":
                o("    uint8_t (*%s)[16];" % f.snake)
            else:
                o("    %s *%s;" % (elem_ctype(f), f.snake))
        elif f.kind == "uuid":
            o("    uint8_t %s[16];" % f.snake)
        elif f.ptr:
            o("    %s *%s;" % (elem_ctype(f), f.snake))
        else:
            o("    %s %s;" % (elem_ctype(f), f.snake))
    o("};")
    o()


def min_struct_size(s, msg, v, memo):
    key = (s.cname, v)
    if key in memo:
        return memo[key]
    flex = msg.flex.contains(v)
    n = 1 if flex else 0
    for f in s.fields:
        if not f.regular.contains(v):
            continue
        compact = f.fflex.contains(v) if f.fflex is not None else flex
        if f.array:
            n += 1 if compact else 4
        elif f.kind in PRIMS:
            n += PRIMS[f.kind][3]
        elif f.kind == "uuid":
            n += 16
        elif f.kind == "string":
            n += 1 if compact else 2
        elif f.kind in ("bytes", "records"):
            n += 1 if compact else 4
        elif f.ptr and f.nullable.contains(v):
            n += 1
        else:
            n += min_struct_size(f.struct, msg, v, memo)
    memo[key] = n
    return n


def elem_min_size(msg, f):
    k = f.kind
    if k in PRIMS:
        return str(PRIMS[k][3])
    if k == "uuid":
        return "16"
    if k == "string":
        return "(%s ? 1 : 2)" % compact_expr(msg, f)
    if k in ("bytes", "records"):
        return "(%s ? 1 : 4)" % compact_expr(msg, f)
    memo = {}
    sizes = [min_struct_size(f.struct, msg, v, memo)
             for v in range(msg.valid.lo, msg.valid.hi + 1) if f.versions.contains(v)]
    return str(max(1, min(sizes) if sizes else 1))


def emit_read_value(o, msg, f, lv, rd, ind, elem=False):
    """Reads one value of f (an element when elem) into lvalue lv from reader rd."""
    p = " " * ind
    comp = compact_expr(msg, f)
    nul = "false" if elem else cbool(cond(msg, f.nullable))
    k = f.kind
    if k in PRIMS:
        o("%s%s = %s(%s);" % (p, lv, PRIMS[k][1], rd))
    elif k == "uuid":
        o("%sweir_kread_uuid(%s, %s);" % (p, rd, lv))
    elif k == "string":
        o("%s%s = weir_kread_string(%s, %s, %s);" % (p, lv, rd, comp, nul))
    elif k in ("bytes", "records"):
        o("%s%s = weir_kread_bytes(%s, %s, %s);" % (p, lv, rd, comp, nul))
    elif elem or not f.ptr:
        o("%s(void)%s_decode(%s, version, arena, &%s);" % (p, f.struct.cname, rd, lv))
    else:
        o("%sif (%s && weir_kread_int8(%s) < 0) {" % (p, nul, rd))
        o("%s    %s = NULL;" % (p, lv))
        o("%s} else {" % p)
        o("%s    %s = weir_arena_alloc(arena, sizeof *%s);" % (p, lv, lv))
        o("%s    (void)%s_decode(%s, version, arena, %s);" % (p, f.struct.cname, rd, lv))
        o("%s}" % p)


def emit_read_field(o, msg, f, rd, ind):
    p = " " * ind
    lv = "out->" + f.snake
    if not f.array:
        emit_read_value(o, msg, f, lv, rd, ind)
        return
    o("%s{" % p)
    o("%s    int32_t n_ = weir_kread_array_len(%s, %s, %s, %s);" % (
        p, rd, compact_expr(msg, f), cbool(cond(msg, f.nullable)), elem_min_size(msg, f)))
    o("%s    %s_count = n_;" % (p, lv))
    o("%s    %s = NULL;" % (p, lv))
    o("%s    if (n_ > 0) {" % p)
    o("%s        %s = weir_arena_alloc(arena, (size_t)n_ * sizeof *%s);" % (p, lv, lv))
    o("%s        for (int32_t i_ = 0; i_ < n_ && !(%s)->failed; i_++) {" % (p, rd))
    emit_read_value(o, msg, f, "%s[i_]" % lv, rd, ind + 12, elem=True)
    o("%s        }" % p)
    o("%s    }" % p)
    o("%s}" % p)


def emit_write_value(o, msg, f, rv, wr, ind, elem=False):
    p = " " * ind
    comp = compact_expr(msg, f)
    nul = "false" if elem else cbool(cond(msg, f.nullable))
    k = f.kind
    if k in PRIMS:
        o("%s%s(%s, %s);" % (p, PRIMS[k][2], wr, rv))
    elif k == "uuid":
        o("%sweir_kwrite_uuid(%s, %s);" % (p, wr, rv))
    elif k == "string":
        o("%sweir_kwrite_string(%s, %s, %s, %s);" % (p, wr, rv, comp, nul))
    elif k in ("bytes", "records"):
        o("%sweir_kwrite_bytes(%s, %s, %s, %s);" % (p, wr, rv, comp, nul))
    elif elem or not f.ptr:
        o("%s(void)%s_encode(%s, version, &%s);" % (p, f.struct.cname, wr, rv))
    else:
        o("%sif (%s) {" % (p, rv))
        o("%s    if (%s) weir_kwrite_int8(%s, 1);" % (p, nul, wr))
        o("%s    (void)%s_encode(%s, version, %s);" % (p, f.struct.cname, wr, rv))
        o("%s} else if (%s) {" % (p, nul))
        o("%s    weir_kwrite_int8(%s, -1);" % (p, wr))
        o("%s} else {" % p)
        o("%s    struct %s d_;" % (p, f.struct.cname))
        o("%s    %s_init(&d_);" % (p, f.struct.cname))
        o("%s    (void)%s_encode(%s, version, &d_);" % (p, f.struct.cname, wr))
        o("%s}" % p)


def emit_write_field(o, msg, f, wr, ind):
    p = " " * ind
    rv = "m->" + f.snake
    if not f.array:
        emit_write_value(o, msg, f, rv, wr, ind)
        return
    o("%s{" % p)
    o("%s    int32_t n_ = %s_count;" % (p, rv))
    o("%s    if (n_ > 0 && !%s) n_ = 0;" % (p, rv))
    o("%s    weir_kwrite_array_len(%s, n_, %s, %s);" % (
        p, wr, compact_expr(msg, f), cbool(cond(msg, f.nullable))))
    o("%s    for (int32_t i_ = 0; i_ < n_; i_++) {" % p)
    emit_write_value(o, msg, f, "%s[i_]" % rv, wr, ind + 8, elem=True)
    o("%s    }" % p)
    o("%s}" % p)


def is_default_expr(f, m):
    """A C expression that is true when the field holds its default value."""
    lv = "%s->%s" % (m, f.snake)
    d = default_of(f)
    k = f.kind
    if f.array:
        return "%s_count < 0" % lv if d is None else "%s_count <= 0" % lv
    if k == "struct":
        if f.ptr:
            if d is None:
                return "%s == NULL" % lv
            return "(%s == NULL || %s_is_default(%s))" % (lv, f.struct.cname, lv)
        return "%s_is_default(&%s)" % (f.struct.cname, lv)
    if k in INT_RANGES:
        return "%s == %s" % (lv, int_literal(k, d))
    if k == "float64":
        return "%s == %r" % (lv, d)
    if k == "bool":
        return lv if d else "!%s" % lv
    if k == "uuid":
        return "weir_kuuid_is_zero(%s)" % lv
    if k == "string":
        return "weir_kstr_is(%s, %s)" % (lv, "NULL" if d is None else c_string_literal(d))
    if k in ("bytes", "records"):
        if d is None:
            return "%s.ptr == NULL" % lv
        return "(%s.ptr == NULL || %s.len <= 0)" % (lv, lv)
    die("no default test for " + k)


def emit_init(o, s):
    o("void %s_init(struct %s *m)" % (s.cname, s.cname))
    o("{")
    o("    memset(m, 0, sizeof *m);")
    for f in s.fields:
        lv = "m->" + f.snake
        d = default_of(f)
        k = f.kind
        if f.array:
            if d is None:
                o("    %s_count = -1;" % lv)
        elif k == "struct":
            if not f.ptr:
                o("    %s_init(&%s);" % (f.struct.cname, lv))
        elif k in INT_RANGES:
            if d != 0:
                o("    %s = %s;" % (lv, int_literal(k, d)))
        elif k == "float64":
            if d != 0.0:
                o("    %s = %r;" % (lv, d))
        elif k == "bool":
            if d:
                o("    %s = true;" % lv)
        elif k == "string":
            if d is not None:
                o("    %s = (weir_str){%s, %d};" % (lv, c_string_literal(d), len(d.encode("utf-8"))))
        elif k in ("bytes", "records"):
            if d is not None:
                o("    %s = (weir_bytes){(const uint8_t *)\"\", 0};" % lv)
    o("}")
    o()


def emit_is_default(o, s):
    o("static __attribute__((unused)) bool %s_is_default(const struct %s *m)" % (s.cname, s.cname))
    o("{")
    if not s.fields:
        o("    (void)m;")
        o("    return true;")
    else:
        exprs = [is_default_expr(f, "m") for f in s.fields]
        o("    return " + ("\n        && ".join(exprs)) + ";")
    o("}")
    o()


def tagged_fields(s):
    return sorted([f for f in s.fields if f.tagged is not None], key=lambda f: f.tag)


def emit_decode(o, msg, s, public):
    sig = "int %s_decode(weir_kreader *r, int16_t version, weir_arena *arena, struct %s *out)" % (s.cname, s.cname)
    o(sig if public else "static " + sig)
    o("{")
    o("    %s_init(out);" % s.cname)
    if public:
        o("    if (version < %d || version > %d) {" % (msg.valid.lo, msg.valid.hi))
        o("        weir_kread_fail(r, \"unsupported %s version\");" % msg.name)
        o("        return WEIR_ERROR;")
        o("    }")
    o("    const bool flex = %s;" % cbool(cond(msg, msg.flex)))
    o("    (void)flex;")
    o("    (void)version;")
    o("    (void)arena;")
    for f in s.fields:
        c = cond(msg, f.regular)
        if c is False:
            continue
        if c is True:
            emit_read_field(o, msg, f, "r", 4)
        else:
            o("    if (%s) {" % c)
            emit_read_field(o, msg, f, "r", 8)
            o("    }")
    if cond(msg, msg.flex) is not False:
        tf = [f for f in tagged_fields(s) if cond(msg, f.tagged) is not False]
        if not tf:
            o("    if (flex) weir_kread_skip_tags(r);")
        else:
            o("    if (flex) {")
            o("        uint32_t ntags_ = weir_kread_uvarint32(r);")
            o("        for (uint32_t t_ = 0; t_ < ntags_ && !r->failed; t_++) {")
            o("            uint32_t tag_;")
            o("            weir_kreader sub_;")
            o("            if (!weir_kread_tag_header(r, &tag_, &sub_)) break;")
            o("            weir_kreader *tr = &sub_;")
            o("            switch (tag_) {")
            for f in tf:
                o("            case %d:" % f.tag)
                c = cond(msg, f.tagged)
                if c is True:
                    emit_read_field(o, msg, f, "tr", 16)
                else:
                    o("                if (%s) {" % c)
                    emit_read_field(o, msg, f, "tr", 20)
                    o("                }")
                o("                break;")
            o("            default:")
            o("                break;")
            o("            }")
            o("            if (sub_.failed) weir_kread_fail(r, sub_.why);")
            o("        }")
            o("    }")
    o("    return r->failed ? WEIR_ERROR : WEIR_OK;")
    o("}")
    o()


def emit_encode(o, msg, s, public):
    sig = "int %s_encode(weir_kwriter *w, int16_t version, const struct %s *m)" % (s.cname, s.cname)
    o(sig if public else "static " + sig)
    o("{")
    if public:
        o("    if (version < %d || version > %d) return WEIR_ERROR;" % (msg.valid.lo, msg.valid.hi))
    o("    const bool flex = %s;" % cbool(cond(msg, msg.flex)))
    o("    (void)flex;")
    o("    (void)version;")
    o("    (void)m;")
    for f in s.fields:
        c = cond(msg, f.regular)
        if c is False:
            continue
        if c is True:
            emit_write_field(o, msg, f, "w", 4)
        else:
            o("    if (%s) {" % c)
            emit_write_field(o, msg, f, "w", 8)
            o("    }")
    if cond(msg, msg.flex) is not False:
        tf = [f for f in tagged_fields(s) if cond(msg, f.tagged) is not False]
        if not tf:
            o("    if (flex) weir_kwrite_uvarint(w, 0);")
        else:
            o("    if (flex) {")
            conds = []
            for f in tf:
                c = cond(msg, f.tagged)
                nd = "!(%s)" % is_default_expr(f, "m")
                conds.append(nd if c is True else "(%s) && %s" % (c, nd))
            o("        uint32_t ntags_ = 0;")
            for c in conds:
                o("        if (%s) ntags_++;" % c)
            o("        weir_kwrite_uvarint(w, ntags_);")
            for f, c in zip(tf, conds):
                o("        if (%s) {" % c)
                o("            weir_buf tb_;")
                o("            weir_buf_init(&tb_);")
                o("            weir_kwriter tw_ = {&tb_};")
                o("            weir_kwriter *tw = &tw_;")
                emit_write_field(o, msg, f, "tw", 12)
                o("            weir_kwrite_tagged(w, %d, &tb_);" % f.tag)
                o("            weir_buf_free(&tb_);")
                o("        }")
            o("    }")
    o("    return WEIR_OK;")
    o("}")
    o()


def sample_value(f, idx, elem_i=None):
    """A C expression of a non-default sample value for a scalar field."""
    k = f.kind
    bump = "" if elem_i is None else " + %s" % elem_i
    d = default_of(f) if not f.array else 0
    if k in INT_RANGES:
        base = {"int8": 10, "int16": 100, "int32": 100000, "int64": 10000000000,
                "uint16": 500, "uint32": 3000000000}[k] + idx
        if base == d:
            base += 1
        return "(%s)(%s%s)" % (PRIMS[k][0], int_literal(k, base), bump)
    if k == "float64":
        return "(%r%s)" % (2.5 + idx, bump)
    if k == "bool":
        return "false" if d else "true"
    if k == "string":
        s = "s-%s" % f.snake
        return "(weir_str){%s, %d}" % (c_string_literal(s), len(s))
    if k in ("bytes", "records"):
        return "(weir_bytes){(const uint8_t *)\"\\001\\002\\003\", 3}"
    die("no sample for " + k)


def emit_sample(o, s, public=False):
    sig = "void %s_sample(struct %s *m, weir_arena *a)" % (s.cname, s.cname)
    o(sig if public else "static __attribute__((unused)) " + sig)
    o("{")
    o("    (void)a;")
    o("    %s_init(m);" % s.cname)
    for idx, f in enumerate(s.fields):
        lv = "m->" + f.snake
        if f.array:
            o("    %s_count = 2;" % lv)
            o("    %s = weir_arena_alloc(a, 2 * sizeof *%s);" % (lv, lv))
            o("    for (int i_ = 0; i_ < 2; i_++) {")
            if f.kind == "struct":
                o("        %s_sample(&%s[i_], a);" % (f.struct.cname, lv))
            elif f.kind == "uuid":
                o("        for (int j_ = 0; j_ < 16; j_++) %s[i_][j_] = (uint8_t)(j_ + i_ + %d);" % (lv, idx + 1))
            else:
                o("        %s[i_] = %s;" % (lv, sample_value(f, idx, "i_")))
            o("    }")
        elif f.kind == "struct":
            if f.ptr:
                o("    %s = weir_arena_alloc(a, sizeof *%s);" % (lv, lv))
                o("    %s_sample(%s, a);" % (f.struct.cname, lv))
            else:
                o("    %s_sample(&%s, a);" % (f.struct.cname, lv))
        elif f.kind == "uuid":
            o("    for (int j_ = 0; j_ < 16; j_++) %s[j_] = (uint8_t)(j_ + %d);" % (lv, idx + 1))
        else:
            o("    %s = %s;" % (lv, sample_value(f, idx)))
    o("}")
    o()


HEADER_COMMENT = """/* Generated by scripts/gen_kafka.py from the Kafka protocol tables
 * (the JSON files in reference/kafka-protocol). Do not edit: change the generator and run `make gen`.
 * %s */"""


def api_name(msg):
    n = msg.name
    for suffix in ("Request", "Response"):
        if n.endswith(suffix):
            return n[: -len(suffix)]
    return n


def main():
    if len(sys.argv) != 3:
        die("usage: gen_kafka.py <protocol-dir> <out-dir>")
    src, out_dir = sys.argv[1], sys.argv[2]
    paths = set(glob.glob(os.path.join(src, "*Request.json")))
    paths |= set(glob.glob(os.path.join(src, "*Response.json")))
    for extra in ("RequestHeader.json", "ResponseHeader.json",
                  "ConsumerProtocolSubscription.json", "ConsumerProtocolAssignment.json"):
        p = os.path.join(src, extra)
        if os.path.exists(p):
            paths.add(p)
    if not paths:
        die("no message definitions in " + src)

    # Headers first, then APIs by key (request before response), then the rest by name.
    msgs = [Message(p) for p in sorted(paths)]

    def order(m):
        if m.type == "header":
            return (0, 0, m.name)
        if m.api_key is not None:
            return (1, m.api_key, 0 if m.type == "request" else 1)
        return (2, 0, m.name)
    msgs.sort(key=order)

    seen = {}
    for m in msgs:
        for s in m.order:
            if s.cname in seen:
                die("generated name %s used twice (%s, %s)" % (s.cname, seen[s.cname], m.name))
            seen[s.cname] = m.name

    apis = {}
    for m in msgs:
        if m.api_key is None:
            continue
        a = apis.setdefault(m.api_key, {})
        if m.type in a:
            die("api key %d has two %ss" % (m.api_key, m.type))
        a[m.type] = m
    for key, a in sorted(apis.items()):
        if "request" not in a or "response" not in a:
            die("api key %d lacks a request or response" % key)

    # One header and one source file per API (request and response together), the
    # request/response headers, and each other message: files stay small enough to read.
    def group_of(m):
        if m.type == "header":
            return "headers"
        if m.api_key is not None:
            return snake(api_name(apis[m.api_key]["request"]))
        return snake(m.name)
    groups = []
    for m in msgs:
        g = group_of(m)
        if not groups or groups[-1][0] != g:
            groups.append((g, []))
        groups[-1][1].append(m)

    files = {}
    for g, gmsgs in groups:
        gh = Out()
        gh(HEADER_COMMENT % ("Messages of %s; include kafka/gen/messages.h, not this file." % ", ".join(m.name for m in gmsgs)))
        guard = "WEIR_KAFKA_GEN_%s_H" % g.upper()
        gh("#ifndef " + guard)
        gh("#define " + guard)
        gh()
        gh('#include "kafka/codec.h"')
        gh()
        for m in gmsgs:
            gh("/* ---- %s (%s, versions %s, flexible %s) ---- */" % (
                m.name, m.type if m.api_key is None else "api key %d %s" % (m.api_key, m.type),
                vs_text(m.valid), vs_text(m.flex)))
            gh()
            for st in m.order:
                emit_struct_def(gh, st)
            for st in m.order:
                gh("void %s_init(struct %s *m);" % (st.cname, st.cname))
            t = m.top.cname
            gh("int %s_decode(weir_kreader *r, int16_t version, weir_arena *arena, struct %s *out);" % (t, t))
            gh("int %s_encode(weir_kwriter *w, int16_t version, const struct %s *m);" % (t, t))
            gh("void %s_sample(struct %s *m, weir_arena *a); /* tests only */" % (t, t))
            gh()
        gh("#endif")
        gc = Out()
        gc(HEADER_COMMENT % "Codecs: _init sets defaults, _decode reads one version, _encode writes one.")
        gc('#include "kafka/gen/messages.h"')
        gc()
        gc("#include <string.h>")
        gc()
        for m in gmsgs:
            gc("/* ---- %s ---- */" % m.name)
            gc()
            for st in m.order:
                emit_init(gc, st)
                emit_is_default(gc, st)
                public = st is m.top
                emit_decode(gc, m, st, public)
                emit_encode(gc, m, st, public)
                emit_sample(gc, st, public)
        files[g + ".h"] = gh
        files[g + ".c"] = gc

    # ---- messages.h: the one header the rest of the kafka module includes ----
    h = Out()
    h(HEADER_COMMENT % "All messages (one header per API, included here), API keys and the API table.")
    h("#ifndef WEIR_KAFKA_GEN_MESSAGES_H")
    h("#define WEIR_KAFKA_GEN_MESSAGES_H")
    h()
    h('#include "kafka/codec.h"')
    h()
    h("/* API keys. */")
    for key, a in sorted(apis.items()):
        h("#define WEIR_API_%s %d" % (snake(api_name(a["request"])).upper(), key))
    h()
    for g, _ in groups:
        h('#include "kafka/gen/%s.h"' % g)
    h()
    h("/* The API table: one entry per API key, sorted by key. */")
    h("typedef struct weir_kafka_api_spec {")
    h("    int16_t key;")
    h("    const char *name;")
    h("    int16_t min_version, max_version;")
    h("    int16_t flexible_min; /* -1 if never flexible */")
    h("    size_t request_size, response_size;")
    h("    void (*request_init)(void *msg);")
    h("    void (*response_init)(void *msg);")
    h("    int (*request_decode)(weir_kreader *r, int16_t version, weir_arena *arena, void *out);")
    h("    int (*request_encode)(weir_kwriter *w, int16_t version, const void *msg);")
    h("    int (*response_decode)(weir_kreader *r, int16_t version, weir_arena *arena, void *out);")
    h("    int (*response_encode)(weir_kwriter *w, int16_t version, const void *msg);")
    h("} weir_kafka_api_spec;")
    h()
    h("extern const weir_kafka_api_spec weir_kafka_api_specs[];")
    h("extern const size_t weir_kafka_api_spec_count;")
    h("/* The spec of an API key, or NULL if Weir does not know it. */")
    h("const weir_kafka_api_spec *weir_kafka_api_spec_get(int16_t api_key);")
    h()
    h("/* Header versions for an API version: request header v2 / response header v1 when the")
    h(" * API version is flexible, else v1 / v0. ApiVersions responses always use v0 (a client")
    h(" * must parse them before it knows what the broker speaks); ControlledShutdown v0 uses")
    h(" * request header v0. Unknown keys get the classic headers. */")
    h("int16_t weir_kafka_request_header_version(int16_t api_key, int16_t api_version);")
    h("int16_t weir_kafka_response_header_version(int16_t api_key, int16_t api_version);")
    h()
    h("/* Tests only: fills a request (response false) or response of api_key with")
    h(" * non-default sample values in every field, arrays of two elements allocated from")
    h(" * arena. Returns WEIR_ENOTFOUND for an unknown key. */")
    h("int weir_kafka_sample_fill(int16_t api_key, bool response, void *msg, weir_arena *arena);")
    h()
    h("#endif")

    # ---- messages.c: the API table and the helpers over it ----
    c = Out()
    c(HEADER_COMMENT % "The API table, header versions and the tests' sample filler.")
    c('#include "kafka/gen/messages.h"')
    c()
    c("/* ---- the API table ---- */")
    c()
    for key, a in sorted(apis.items()):
        for kind in ("request", "response"):
            t = a[kind].top.cname
            c("static void %s_init_v(void *m) { %s_init(m); }" % (t, t))
            c("static int %s_decode_v(weir_kreader *r, int16_t v, weir_arena *a, void *out) { return %s_decode(r, v, a, out); }" % (t, t))
            c("static int %s_encode_v(weir_kwriter *w, int16_t v, const void *m) { return %s_encode(w, v, m); }" % (t, t))
    c()
    c("const weir_kafka_api_spec weir_kafka_api_specs[] = {")
    for key, a in sorted(apis.items()):
        rq, rs = a["request"], a["response"]
        if (rq.valid.lo, rq.valid.hi) != (rs.valid.lo, rs.valid.hi):
            sys.stderr.write("gen_kafka.py: warning: %s request and response versions differ\n" % api_name(rq))
        fmin = -1 if cond(rq, rq.flex) is False else max(rq.flex.lo, rq.valid.lo)
        c("    {%d, \"%s\", %d, %d, %d, sizeof(struct %s), sizeof(struct %s)," % (
            key, api_name(rq), rq.valid.lo, rq.valid.hi, fmin, rq.top.cname, rs.top.cname))
        c("     %s_init_v, %s_init_v," % (rq.top.cname, rs.top.cname))
        c("     %s_decode_v, %s_encode_v," % (rq.top.cname, rq.top.cname))
        c("     %s_decode_v, %s_encode_v}," % (rs.top.cname, rs.top.cname))
    c("};")
    c("const size_t weir_kafka_api_spec_count = sizeof weir_kafka_api_specs / sizeof weir_kafka_api_specs[0];")
    c()
    maxkey = max(apis)
    index = [-1] * (maxkey + 1)
    for i, key in enumerate(sorted(apis)):
        index[key] = i
    c("static const int8_t api_index[%d] = {" % (maxkey + 1))
    for i in range(0, len(index), 16):
        c("    " + ", ".join(str(x) for x in index[i:i + 16]) + ",")
    c("};")
    c()
    c("const weir_kafka_api_spec *weir_kafka_api_spec_get(int16_t api_key)")
    c("{")
    c("    if (api_key < 0 || api_key > %d || api_index[api_key] < 0) return NULL;" % maxkey)
    c("    return &weir_kafka_api_specs[api_index[api_key]];")
    c("}")
    c()
    c("static bool api_version_flexible(int16_t api_key, int16_t api_version)")
    c("{")
    c("    const weir_kafka_api_spec *spec = weir_kafka_api_spec_get(api_key);")
    c("    return spec && spec->flexible_min >= 0 && api_version >= spec->flexible_min;")
    c("}")
    c()
    c("int16_t weir_kafka_request_header_version(int16_t api_key, int16_t api_version)")
    c("{")
    c("    if (api_key == 7 && api_version == 0) return 0; /* ControlledShutdown v0 */")
    c("    return api_version_flexible(api_key, api_version) ? 2 : 1;")
    c("}")
    c()
    c("int16_t weir_kafka_response_header_version(int16_t api_key, int16_t api_version)")
    c("{")
    c("    if (api_key == %d) return 0; /* ApiVersions: always v0 */" % next(
        k for k, a in apis.items() if a["request"].name == "ApiVersionsRequest"))
    c("    return api_version_flexible(api_key, api_version) ? 1 : 0;")
    c("}")
    c()
    c("int weir_kafka_sample_fill(int16_t api_key, bool response, void *msg, weir_arena *arena)")
    c("{")
    c("    switch (api_key) {")
    for key, a in sorted(apis.items()):
        c("    case %d:" % key)
        c("        if (response) %s_sample(msg, arena);" % a["response"].top.cname)
        c("        else %s_sample(msg, arena);" % a["request"].top.cname)
        c("        return WEIR_OK;")
    c("    default:")
    c("        return WEIR_ENOTFOUND;")
    c("    }")
    c("}")

    files["messages.h"] = h
    files["messages.c"] = c
    os.makedirs(out_dir, exist_ok=True)
    # Remove generated files of messages that no longer exist (only ours: the comment says so).
    for name in os.listdir(out_dir):
        path = os.path.join(out_dir, name)
        if name not in files and name.endswith((".c", ".h")):
            with open(path, encoding="utf-8") as fh:
                if fh.read(64).startswith("/* Generated by scripts/gen_kafka.py"):
                    os.remove(path)
    for name, o in sorted(files.items()):
        path = os.path.join(out_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(o.text())
        os.replace(tmp, path)

if __name__ == "__main__":
    main()
