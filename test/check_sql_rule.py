#!/usr/bin/env python3
"""test/check_sql_rule.py — owns: the static check of the rule stated in
src/prelude.h for SQL that cache_ext runs itself.

Every SQL text in src/*.c (C string literals, adjacent ones joined, that
start a statement: SELECT, INSERT, UPDATE, DELETE, WITH, or continue one
with FROM/WHERE/JOIN...) must be safe to run under any search_path and as
any role:
  - every operator is spelled OPERATOR(pg_catalog.op) — no bare =, <>, <,
    >, <=, >=, +, -, ||, ~, and no IN (...) lists or = ANY, which resolve
    an = operator through the search_path;
  - every function call is schema-qualified (schema.name( ), apart from
    SQL syntax that looks like a call (EXISTS, VALUES, COALESCE, ...);
  - every cast names its type with its schema (::pg_catalog.int8);
  - every relation after FROM, JOIN, INTO, UPDATE is schema-qualified, or
    a %s the C code fills with a quoted qualified name.
The code that runs the SQL must also pin search_path to pg_catalog, pg_temp
where it runs with more privileges than the caller: that part is for
review, this check cannot see it.

Function calls are recognised by a name immediately followed by "(" (our
convention); a space before "(" marks a column list (INSERT INTO t (a, b),
ON CONFLICT (key)).  Text inside quotes is not checked.  Exit status 1 and
one line per problem when anything breaks the rule.
"""
import re
import sys
from pathlib import Path

STATEMENT_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|FROM|WHERE|JOIN|AND|OR|ORDER|"
    r"GROUP|ON CONFLICT|RETURNING|LIMIT|SET)\b")
# Calls that are SQL syntax, not functions looked up in the search_path.
SYNTAX_CALLS = {
    "EXISTS", "VALUES", "COALESCE", "NULLIF", "GREATEST", "LEAST", "CAST",
    "ROW", "ARRAY", "OPERATOR", "FILTER", "OVER", "ROWS", "LATERAL",
}
# Messages are not SQL even when they quote some.
MESSAGE_CALLS = re.compile(
    r"\b(errmsg|errdetail|errhint|errcontext|elog|errmsg_internal|"
    r"errdetail_internal|ereport|GUC_check_errmsg|GUC_check_errdetail|"
    r"GUC_check_errhint|pgstat_report_activity|set_failure|snprintf)\s*\(")


def c_string_runs(source):
    """Yield (line, text) for each run of adjacent C string literals that is
    not an argument of a message function."""
    # Drop comments.
    source = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                    source, flags=re.S)
    source = re.sub(r"//[^\n]*", "", source)
    literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    pos = 0
    while True:
        m = literal.search(source, pos)
        if not m:
            return
        start = m.start()
        parts = [m.group(1)]
        end = m.end()
        while True:
            n = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"').match(source, end)
            if not n:
                break
            parts.append(n.group(1))
            end = n.end()
        pos = end
        # Is this run inside a message call?  Look back to the nearest
        # unbalanced "(" on the same statement.
        back = source[max(0, start - 400):start]
        depth = 0
        inside_message = False
        for i in range(len(back) - 1, -1, -1):
            ch = back[i]
            if ch == ")":
                depth += 1
            elif ch == "(":
                if depth == 0:
                    if MESSAGE_CALLS.search(back[max(0, i - 30):i + 1]):
                        inside_message = True
                        break
                    continue
                depth -= 1
            elif ch == ";" or ch == "{" or ch == "}":
                break
        if inside_message:
            continue
        yield source.count("\n", 0, start) + 1, "".join(parts)


def strip_quoted(sql):
    sql = re.sub(r"\\'", "", sql)
    sql = re.sub(r"'[^']*'", "''", sql)
    sql = re.sub(r'\\"[^"\\]*\\"', "q", sql)
    return sql


def problems(sql):
    text = strip_quoted(sql)
    found = []
    text_wo_ops = re.sub(r"OPERATOR\(pg_catalog\.[^)]*\)", " op ", text)
    # The "=" of an assignment list (UPDATE ... SET col = ..., ON CONFLICT
    # DO UPDATE SET ...) is syntax, not an operator.
    text_wo_ops = re.sub(
        r"\bSET\b(.*?)(?=\bWHERE\b|\bRETURNING\b|$)",
        lambda m: "SET" + re.sub(r'([\w%."]+)\s*=(?!=)', r"\1 assign",
                                 m.group(1)),
        text_wo_ops, flags=re.S)
    for op in re.findall(r"(<>|!=|<=|>=|\|\||[=<>+~]|(?<![\w%])-(?!-))",
                         text_wo_ops):
        found.append("bare operator %s" % op)
    if re.search(r"\bIN\s*\(", text_wo_ops, re.I):
        found.append("IN (...) resolves = through the search_path")
    if re.search(r"\b(ANY|ALL|SOME)\s*\(", text_wo_ops, re.I):
        found.append("ANY/ALL resolve an operator through the search_path")
    for cast in re.findall(r"::\s*([A-Za-z_][\w]*(?:\.[\w]+)?)", text):
        if "." not in cast:
            found.append("unqualified cast ::%s" % cast)
    for m in re.finditer(r"(?<![\w%.])([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?)\(",
                         text):
        name = m.group(1)
        if "." in name or name.upper() in SYNTAX_CALLS:
            continue
        found.append("unqualified function %s()" % name)
    for m in re.finditer(r"\b(FROM|JOIN|INTO|UPDATE)\s+([^\s,()]+)", text,
                         re.I):
        rel = m.group(2)
        if rel.startswith("%") or "." in rel or rel.upper() in {"ONLY", "SET"}:
            continue
        if m.group(1).upper() == "FROM" and rel.upper() in {"SELECT"}:
            continue
        found.append("unqualified relation %s %s" % (m.group(1), rel))
    return found


def main(paths):
    bad = 0
    for path in paths:
        source = Path(path).read_text()
        for line, sql in c_string_runs(source):
            if not STATEMENT_START.match(sql):
                continue
            if not re.search(r"\b(FROM|INTO|UPDATE|SELECT|WHERE)\b|\$[0-9]", sql):
                continue
            for p in problems(sql):
                print("%s:%d: %s in: %s" % (path, line, p, sql.strip()[:100]))
                bad += 1
    if bad:
        print("check_sql_rule: %d problem(s); see src/prelude.h for the rule"
              % bad)
        return 1
    print("check_sql_rule: every SQL text in %d file(s) follows the rule"
          % len(paths))
    return 0


if __name__ == "__main__":
    files = sys.argv[1:] or sorted(str(p) for p in Path("src").glob("*.c"))
    sys.exit(main(files))
