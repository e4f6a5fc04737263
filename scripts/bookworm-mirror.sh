# shellcheck shell=bash
# scripts/bookworm-mirror.sh — sourced (bash): the Debian 12 mirror this machine's apt uses, as
# mmdebstrap's arguments, for the roots that packaging/container/build-image.sh and
# scripts/check-fresh-machine.sh make. Only this machine's mirror and apt's
# options for reaching it go in; nothing else of this machine does.
#
#   bookworm_mirror_args   fills bookworm_sources (one "deb URI SUITE COMPONENTS" per suite) and
#                          bookworm_mmdebstrap_opts (--aptopt=... for proxies and Release-date
#                          checks, --include=ca-certificates for an https mirror); returns 1 when
#                          no bookworm entry is found.

# Prints one "deb URI SUITE COMPONENTS" line per bookworm suite, from one-line .list files and
# deb822 .sources files alike.
apt_bookworm_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" {
			i = 2
			if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) ~ /^bookworm/) {
				line = "deb " $i " " $(i + 1)
				for (j = i + 2; j <= NF; j++) line = line " " $j
				print line
			}
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled != "no")
				for (u = 1; u <= nu; u++)
					for (s = 1; s <= ns; s++)
						if (suite[s] ~ /^bookworm/) print "deb " uri[u] " " suite[s] " " comps
			types = ""; comps = ""; enabled = ""; nu = 0; ns = 0
		}
		/^[ \t]*$/ { flush(); next }
		/^#/ { next }
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") nu = split(val, uri, /[ \t]+/)
			else if (key == "suites") ns = split(val, suite, /[ \t]+/)
			else if (key == "components") comps = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
}

bookworm_mirror_args() {
	local opt
	mapfile -t bookworm_sources < <(apt_bookworm_sources | awk '!seen[$0]++')
	[ ${#bookworm_sources[@]} -gt 0 ] || return 1
	bookworm_mmdebstrap_opts=()
	# This machine's apt options that reach the mirror (proxies, checks of Release dates that a
	# snapshot mirror needs off) hold for the root's apt too: mmdebstrap writes them into it.
	while IFS= read -r opt; do
		[ -n "$opt" ] && bookworm_mmdebstrap_opts+=("--aptopt=$opt")
	done < <(apt-config dump 2>/dev/null |
		grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date|ftp::Proxy)[ "]' || true)
	# An https mirror needs the CA certificates before apt can install anything.
	if printf '%s\n' "${bookworm_sources[@]}" | grep -q ' https://'; then
		bookworm_mmdebstrap_opts+=(--include=ca-certificates)
	fi
	return 0
}
