#!/bin/sh
# version.sh VERSION: the package version for a `git describe` VERSION,
# in the characters Debian and RPM versions both allow, ordered as the
# commits are: v1.2.3 -> 1.2.3; v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234;
# a tree without tags (abc1234) -> 0.1.0~gitabc1234, before 0.1.0; and
# -dirty -> .dirty.
set -eu
v=${1#v}
dirty=
case $v in *-dirty) v=${v%-dirty}; dirty=.dirty ;; esac
case $v in
[0-9]*.*) v=$(printf '%s' "$v" | sed 's/-\([0-9]*\)-g/+\1.g/') ;;
*) v=0.1.0~git$v ;;
esac
printf '%s%s\n' "$v" "$dirty"
