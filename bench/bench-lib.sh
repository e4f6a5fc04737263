# bench/bench-lib.sh — what the bash bench scripts share. Sourced (not run) after the script
# set prog (its name for messages) and here (its directory):
#   prog='boot-reference'
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$here/bench-lib.sh"
# It sets top_srcdir and top_builddir (from the environment, else this tree) and defines:
#   say MSG / die MSG / skip MSG  "$prog: MSG" on stderr; die exits 2 (usage), skip exits 77
#   usage                         the script's header comment, up to its `set -uo` line
#   need_number VALUE WHAT        dies "WHAT" unless VALUE is a whole number
#   have_kvm / have_gnu_time      true when /dev/kvm is usable / /usr/bin/time is GNU time
#   bench_workdir NAME            $work: a fresh directory, removed at exit unless keep=yes
#   median                        the median of the numbers on stdin ("n/a" for none)
# shellcheck shell=bash disable=SC2154 # prog and here are the caller's

top_srcdir=${top_srcdir:-$here/..}
top_builddir=${top_builddir:-$top_srcdir}

say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 2; }
skip() { echo "$prog: SKIP: $*"; exit 77; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

need_number() { case $1 in '' | *[!0-9]*) die "$2" ;; esac; }

have_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
have_gnu_time() { [ -x /usr/bin/time ] && /usr/bin/time -f '%M' true >/dev/null 2>&1; }

bench_workdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	if [ "${keep:-no}" = yes ]; then
		trap 'say "logs kept in $work"' EXIT
	else
		trap 'rm -rf "$work"' EXIT
	fi
}

median() {
	sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
