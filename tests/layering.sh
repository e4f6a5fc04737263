#!/bin/sh
# The layering check: every #include "dir/file.h" between sepia's folders must point down
# the table below (what each folder may include besides itself). An include that points up
# or sideways, or a folder missing from the table, fails the test with the line that does it.
# The table is the README's layout picture in text; change both together.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

allowed() {
	case $1 in
	common) echo "" ;;
	block) echo "common" ;;
	images) echo "common" ;;
	display) echo "common" ;;
	bootloader) echo "images block common" ;;
	devices) echo "block display common" ;;
	net) echo "common" ;;
	proto) echo "" ;;
	launcher) echo "proto bootloader images block display common" ;;
	guest) echo "images common" ;;
	*) echo "?" ;;
	esac
}

echo "1..1"
bad=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
for dir in common block images display bootloader devices net launcher guest; do
	files=$(find "$dir" -name '*.[ch]' 2>/dev/null)
	[ -n "$files" ] || continue
	ok=$(allowed "$dir")
	# shellcheck disable=SC2086
	grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/' $files |
	while IFS= read -r line; do
		target=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/.*/\1/')
		[ "$target" = "$dir" ] && continue
		case " $ok " in
		*" $target "*) ;;
		*) echo "# layering: ${line%%:*#*}: $dir may not include $target/ (allowed: ${ok:-nothing})"
		   echo "#   $line" ;;
		esac
	done
done > "$out"
if [ -s "$out" ]; then
	cat "$out"
	bad=1
fi
# Every folder with C sources is in the table.
# Sources only: in a git checkout its tracked files; elsewhere (a tarball) a search that leaves
# out the tests, benches and what builds write (pkg/ holds `make deb`'s unpacked copy of the tree).
c_sources() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files '*.[ch]' | sed 's|^|./|'
	else
		find . -name '*.[ch]' -not -path './pkg/*' -not -path './build-aux/*'
	fi
}
for dir in $(c_sources | grep -v -e '^\./tests/' -e '^\./bench/' | cut -d/ -f2 | sort -u); do
	[ "$(allowed "$dir")" = "?" ] && { echo "# layering: $dir/ has C sources but no row in tests/layering.sh"; bad=1; }
done
if [ $bad -eq 0 ]; then
	echo "ok 1 - every include between folders points down the layer table"
else
	echo "not ok 1 - an include points up or sideways (see above)"
fi
