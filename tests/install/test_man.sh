#!/usr/bin/env bash
# test_man.sh — docs/seqlift.1 renders without a warning (groff -ww; `man -l` when man-db
# is installed) and describes every command of `seqlift --help` and every long option of
# each command's --help.
. "$(dirname "$0")/../cli/lib.sh" man
page=$SRC/docs/seqlift.1
if groff -man -ww -z "$page" 2>"$T/err" && [ ! -s "$T/err" ]; then ok "groff -man -ww: no warnings"
else fail "groff -man -ww: $(head -5 "$T/err")"; fi
if command -v man >/dev/null; then
    if MANWIDTH=80 man -l "$page" >"$T/man.txt" 2>"$T/err" && [ ! -s "$T/err" ] && grep -q 'EXIT STATUS' "$T/man.txt"
    then ok "man -l renders"; else fail "man -l: $(head -5 "$T/err")"; fi
fi
v=$("$SEQLIFT" --version)
grep -q "^\.TH SEQLIFT 1 .* \"$v\"" "$page" && ok ".TH names $v" || fail ".TH does not name '$v'"
# the rendered text, plain ASCII (\- is '-'), no hyphenation (.nh)
groff -man -Tascii -P-cbou "$page" >"$T/page.txt" 2>/dev/null
cmds=$("$SEQLIFT" --help | awk '/^Commands:/ { on = 1; next } on && NF { print $1 } on && !NF { exit }')
[ -n "$cmds" ] || fail "no commands in seqlift --help"
for c in $cmds; do
    grep -q "^\.SS $c\$" "$page" || { fail "command $c has no .SS section"; continue; }
    miss=
    for o in $("$SEQLIFT" "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
        grep -qE -- "(^|[^-a-z0-9])$o([^-a-z0-9]|\$)" "$T/page.txt" || miss="$miss $o"
    done
    [ -z "$miss" ] && ok "$c: every option described" || fail "$c: not in the man page:$miss"
done
cli_done
