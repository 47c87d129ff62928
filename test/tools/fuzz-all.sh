#!/usr/bin/env bash
# fuzz-all.sh - run every Go fuzz target in the module, one at a time.
#
#   test/tools/fuzz-all.sh [FUZZTIME [PATTERN]]
#   test/tools/fuzz-all.sh --replay-crashers
#
# FUZZTIME is go test's -fuzztime for each target: a duration (30s, the
# default) or an execution count (3000000x). PATTERN, an extended regular
# expression, keeps only the targets whose "import/path FuzzName" matches.
# Targets are found with `go test -list`, so a new Fuzz* function is picked
# up without touching this script. A target that fails leaves its input in
# the package's testdata/fuzz/FuzzName/, as go test does; the script lists
# the failures and exits 1 if there were any.
#
# Go 1.26's fuzz coordinator sometimes ends a time-based run with "context
# deadline exceeded" although nothing failed (golang/go#75804); such a run
# is tried once more before it counts as a failure.
#
# --replay-crashers runs the inputs kept in test/tools/crashers/PKG/FuzzName/
# (PKG is the package's directory under libmail/, or under the module root)
# against their targets, by copying them into the package's corpus for the
# duration of one `go test` run. These are known bugs awaiting a fix, kept
# out of the corpora so that `go test ./...` stays green: a crasher that
# passes means its bug was fixed and the file can move into the corpus.
#
# Environment: GO (default go), FUZZPARALLEL (go test -parallel; default
# GOMAXPROCS), FUZZMINIMIZETIME (default 5s: new corpus entries are
# minimized only briefly, so that the budget goes to fuzzing).
set -u -o pipefail

GO=${GO:-go}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2

replay_crashers() {
	local dir=test/tools/crashers status=0 n=0
	[ -d "$dir" ] || { echo "no $dir"; return 0; }
	local copied=()
	trap 'rm -f ${copied[@]+"${copied[@]}"}' EXIT
	local target
	for target in $(find "$dir" -mindepth 2 -type d -name 'Fuzz*' | sort); do
		local name pkg pkgdir f
		name=$(basename "$target")
		pkg=${target#"$dir"/}
		pkg=${pkg%/"$name"}
		if [ -d "libmail/$pkg" ]; then pkgdir=libmail/$pkg; else pkgdir=$pkg; fi
		if [ ! -d "$pkgdir" ]; then
			echo "$target: no package directory for $pkg" >&2
			status=1
			continue
		fi
		mkdir -p "$pkgdir/testdata/fuzz/$name"
		copied=()
		for f in "$target"/*; do
			cp "$f" "$pkgdir/testdata/fuzz/$name/crasher-$(basename "$f")"
			copied+=("$pkgdir/testdata/fuzz/$name/crasher-$(basename "$f")")
			n=$((n + 1))
		done
		echo "== ./$pkgdir $name"
		for f in "${copied[@]}"; do
			local base=${f##*/crasher-} out
			if out=$($GO test -count=1 -run "^$name/crasher-$base\$" "./$pkgdir" 2>&1); then
				echo "   FIXED  $target/$base"
			else
				echo "   FAILS  $target/$base"
				grep -E '^\s+\S+_test\.go:[0-9]+:' <<<"$out" | head -1 | cut -c1-200 | sed 's/^ */          /'
				status=1
			fi
		done
		rm -f "${copied[@]}"
		rmdir "$pkgdir/testdata/fuzz/$name" "$pkgdir/testdata/fuzz" "$pkgdir/testdata" 2>/dev/null
		copied=()
	done
	echo "$n crasher(s) replayed; exit status $status (1: some still fail)"
	return $status
}

if [ "${1:-}" = "--replay-crashers" ]; then
	replay_crashers
	exit $?
fi
case "${1:-}" in -h | --help)
	sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac

fuzztime=${1:-30s}
pattern=${2:-.}
minimize=${FUZZMINIMIZETIME:-5s}
parallel=${FUZZPARALLEL:-}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-all.XXXXXX") || exit 2

if ! list=$($GO test -list '^Fuzz' ./... 2>&1); then
	echo "$list" >&2
	echo "fuzz-all: listing the fuzz targets failed (does the module build?)" >&2
	exit 2
fi

# go test -list prints a package's matching names, then its "ok" line.
targets=()
pending=()
while IFS= read -r line; do
	case $line in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for t in ${pending[@]+"${pending[@]}"}; do
			if grep -Eq -- "$pattern" <<<"$pkg $t"; then
				targets+=("$pkg $t")
			fi
		done
		pending=()
		;;
	esac
done <<<"$list"

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz-all: no fuzz targets match $pattern" >&2
	exit 2
fi

run() { # pkg target log
	$GO test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
		${parallel:+-parallel "$parallel"} "$1" >"$3" 2>&1
}

# flake reports whether a failed run is golang/go#75804: the deadline
# message, and no input written as the reason.
flake() {
	grep -q 'context deadline exceeded' "$1" && ! grep -q 'Failing input written to' "$1"
}

echo "fuzz-all: ${#targets[@]} targets, $fuzztime each; logs in $logdir"
passed=()
failed=()
start=$SECONDS
for entry in "${targets[@]}"; do
	pkg=${entry% *}
	t=${entry#* }
	log=$logdir/$(tr / _ <<<"$pkg")-$t.log
	printf '%-58s ' "${pkg#postern.dev/postern/} $t"
	t0=$SECONDS
	ok=false
	if run "$pkg" "$t" "$log"; then
		ok=true
	elif flake "$log"; then
		printf '(context deadline exceeded; again) '
		mv "$log" "$log.first"
		if run "$pkg" "$t" "$log"; then ok=true; fi
	fi
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	if $ok; then
		echo "ok    $((SECONDS - t0))s ${execs:+$execs execs}"
		passed+=("$entry")
	else
		echo "FAIL  $((SECONDS - t0))s ${execs:+$execs execs}"
		failed+=("$entry")
		dir=$($GO list -f '{{.Dir}}' "$pkg" 2>/dev/null)
		grep -E 'Failing input written to|--- FAIL|^\s+\S+_test\.go:[0-9]+:' "$log" | head -8 | sed 's/^/    /'
		input=$(grep -o 'Failing input written to [^ ]*' "$log" | awk '{print $5}')
		[ -n "$input" ] && echo "    input: ${dir#"$root"/}/$input (rerun: go test -run '$t/${input##*/}' $pkg)"
		echo "    log: $log"
	fi
done

echo
echo "fuzz-all: ${#passed[@]} passed, ${#failed[@]} failed in $((SECONDS - start))s"
for entry in ${failed[@]+"${failed[@]}"}; do
	echo "  FAIL $entry"
done
[ ${#failed[@]} -eq 0 ]
