#!/usr/bin/env python3
"""Write Go fuzz corpus files: fuzzseed.py DIR NAME TYPE:VALUE [TYPE:VALUE...]

VALUE is a Python literal (evaluated), so b'\\xff\\r\\n' and 'δ' both work.
TYPE is string, bytes ([]byte) or bool. Used to write committed seed
corpora by hand in the format `go test fuzz v1` expects.
"""
import ast, os, sys

def go_quote(b: bytes) -> str:
    out = ['"']
    for c in b:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == '\\':
            out.append('\\\\')
        elif 0x20 <= c < 0x7f:
            out.append(ch)
        else:
            out.append('\\x%02x' % c)
    out.append('"')
    return ''.join(out)

def main():
    d, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(d, exist_ok=True)
    lines = ['go test fuzz v1']
    for a in args:
        typ, val = a.split(':', 1)
        v = ast.literal_eval(val)
        if typ == 'bool':
            lines.append('bool(%s)' % ('true' if v else 'false'))
            continue
        if isinstance(v, str):
            v = v.encode('utf-8')
        lines.append(('string(%s)' if typ == 'string' else '[]byte(%s)') % go_quote(v))
    with open(os.path.join(d, name), 'w') as f:
        f.write('\n'.join(lines) + '\n')

main()
