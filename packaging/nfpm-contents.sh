#!/bin/sh
# nfpm-contents.sh ROOT: packaging/nfpm.yaml followed by a contents list
# of every file and symbolic link under ROOT (what `make install-files`
# staged there), each at its place below /. The configuration file is a
# conffile (deb) and %config(noreplace) (rpm), so an admin's changes
# survive upgrades; every other file is the package's own.
set -eu
root=$(cd "$1" && pwd)
here=$(dirname "$0")
cat "$here/nfpm.yaml"
echo
echo "contents:"
# Go programs are static by design (CGO_ENABLED=0); lintian knows it only
# when it sees the source package's golang-go build dependency.
printf '  - src: "%s/lintian-overrides"\n    dst: /usr/share/lintian/overrides/postern\n    packager: deb\n    file_info:\n      mode: 0644\n' "$(cd "$here" && pwd)"
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort) | while read -r p; do
	if [ -L "$root/$p" ]; then
		printf '  - src: "%s"\n    dst: "/%s"\n    type: symlink\n' "$(readlink "$root/$p")" "$p"
		continue
	fi
	printf '  - src: "%s/%s"\n    dst: "/%s"\n' "$root" "$p" "$p"
	case $p in
	etc/postern/postern.toml) printf '    type: config|noreplace\n' ;;
	esac
	printf '    file_info:\n      mode: 0%s\n' "$(stat -c %a "$root/$p")"
done
