# tests/e2e/adb-sync-checks.sh — push and pull as Android developers use them, with the real adb
# client against one device: sourced (bash) after `check`, `note`, `work` (a local scratch
# directory) and `serial` are set; adb_sync_checks REMOTE_DIR runs them under REMOTE_DIR (made
# fresh; it must be writable and its parent must exist), e.g. /data/local/tmp/sepia-sync.
# RO_DIR, when set, is a read-only directory of the device for the error check.

# remote_sh CMD: runs CMD in the device's shell, its output on stdout.
remote_sh() { adb -s "$serial" shell "$1"; }

adb_sync_checks() {
	local r=$1 l=$work/sync rc out
	rm -rf "$l"
	mkdir -p "$l/tree/sub dir" "$l/back"
	remote_sh "rm -rf '$r' && mkdir -p '$r'"
	head -c 70000 /dev/urandom > "$l/file1"
	head -c 1234 /dev/urandom > "$l/with space.bin"
	printf 'a\n' > "$l/tree/a.txt"
	head -c 100000 /dev/urandom > "$l/tree/sub dir/b.bin"
	chmod 0755 "$l/tree/a.txt"
	touch -d '2020-02-03 04:05:06 UTC' "$l/file1"

	# A file to a directory, with and without the trailing slash.
	adb -s "$serial" push "$l/file1" "$r/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc = 0 ] && [ \"\$(remote_sh 'sha256sum $r/file1' | cut -c1-64)\" = \"\$(sha256sum < '$l/file1' | cut -c1-64)\" ]" \
		"adb push FILE DIR/ puts the file into DIR"
	remote_sh "rm -f '$r/file1'"
	adb -s "$serial" push "$l/file1" "$r" > "$l/out" 2>&1; rc=$?
	check "[ $rc = 0 ] && [ \"\$(remote_sh 'sha256sum $r/file1' | cut -c1-64)\" = \"\$(sha256sum < '$l/file1' | cut -c1-64)\" ]" \
		"adb push FILE DIR (no slash) puts the file into DIR"
	# Mode and mtime, as adbd keeps them: the owner's bits copied to group and others.
	out=$(remote_sh "stat -c '%a %Y' '$r/file1' '$r/file1'" | head -1 | tr -d '\r')
	check "[ \"$out\" = \"666 $(stat -c %Y "$l/file1")\" ]" "a pushed 0644 file is 0666 with the host file's mtime (got '$out')"
	# A name with spaces.
	adb -s "$serial" push "$l/with space.bin" "$r/" > "$l/out" 2>&1; rc=$?
	check "[ $rc = 0 ] && [ \"\$(remote_sh \"sha256sum '$r/with space.bin'\" | cut -c1-64)\" = \"\$(sha256sum < '$l/with space.bin' | cut -c1-64)\" ]" \
		"adb push of a file name with spaces"
	adb -s "$serial" pull "$r/with space.bin" "$l/back/" > "$l/out" 2>&1; rc=$?
	check "[ $rc = 0 ] && cmp -s '$l/with space.bin' '$l/back/with space.bin'" "adb pull of a file name with spaces to DIR/"
	# Pull to a directory without a slash, and with -a (mode and mtime kept).
	adb -s "$serial" pull -a "$r/file1" "$l/back" > "$l/out" 2>&1; rc=$?
	check "[ $rc = 0 ] && cmp -s '$l/file1' '$l/back/file1' && [ \$(stat -c %Y '$l/back/file1') = \$(stat -c %Y '$l/file1') ]" \
		"adb pull -a FILE DIR keeps the content and the mtime"
	# Into a missing directory: adbd makes it.
	adb -s "$serial" push "$l/file1" "$r/new/deeper/file1" > "$l/out" 2>&1; rc=$?
	check "[ $rc = 0 ] && [ \"\$(remote_sh 'sha256sum $r/new/deeper/file1' | cut -c1-64)\" = \"\$(sha256sum < '$l/file1' | cut -c1-64)\" ]" \
		"adb push into a missing directory creates it"
	# Directories, recursively, both ways.
	adb -s "$serial" push "$l/tree" "$r/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc = 0 ] && [ \"\$(remote_sh \"cat '$r/tree/a.txt'; sha256sum '$r/tree/sub dir/b.bin'\" | tr -d '\\r' | cut -c1-64)\" = \"\$(cat '$l/tree/a.txt'; sha256sum < '$l/tree/sub dir/b.bin' | cut -c1-64)\" ]" \
		"adb push DIR DIR/ copies the tree recursively"
	out=$(remote_sh "stat -c %a '$r/tree/a.txt'" | tr -d '\r')
	check "[ \"$out\" = 777 ]" "a pushed 0755 file is 0777 (got '$out')"
	adb -s "$serial" pull "$r/tree" "$l/back/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc = 0 ] && diff -r '$l/tree' '$l/back/tree' > /dev/null" "adb pull DIR DIR/ copies the tree recursively"
	# push --sync: an unchanged file is skipped, a changed one sent.
	adb -s "$serial" push --sync "$l/tree" "$r/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc = 0 ] && grep -q '0 files pushed, 2 skipped' '$l/out'" "adb push --sync skips unchanged files"
	printf 'b\n' > "$l/tree/a.txt"
	touch -d '2021-01-01 00:00:00 UTC' "$l/tree/a.txt"
	adb -s "$serial" push --sync "$l/tree" "$r/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc = 0 ] && grep -q '1 file pushed, 1 skipped' '$l/out' && [ \"\$(remote_sh \"cat '$r/tree/a.txt'\" | tr -d '\\r')\" = b ]" \
		"adb push --sync sends a changed file"
	# Errors reach the client as adbd's text, with a non-zero exit.
	adb -s "$serial" push "$l/file1" "$r/missing/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc != 0 ] && grep -q \"couldn't create file: Is a directory\" '$l/out'" \
		"a push to a missing DIR/ fails with adbd's couldn't-create text"
	adb -s "$serial" pull "$r/no-such-file" "$l/back/" > "$l/out" 2>&1; rc=$?
	note "$l/out"
	check "[ $rc != 0 ] && grep -q 'No such file or directory' '$l/out'" "a pull of a missing file fails with ENOENT's text"
	if [ -n "${RO_DIR:-}" ]; then
		adb -s "$serial" push "$l/file1" "$RO_DIR/file1" > "$l/out" 2>&1; rc=$?
		note "$l/out"
		check "[ $rc != 0 ] && grep -q \"couldn't create file: Read-only file system\" '$l/out'" \
			"a push to a read-only directory fails with adbd's couldn't-create text"
		adb -s "$serial" push "$l/file1" "$RO_DIR/new/file1" > "$l/out" 2>&1; rc=$?
		note "$l/out"
		check "[ $rc != 0 ] && grep -q 'secure_mkdirs failed: Read-only file system' '$l/out'" \
			"a push under a new directory of a read-only one fails with adbd's secure_mkdirs text"
	fi
}
