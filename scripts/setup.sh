# Sourced by ./run and ./test: install missing Debian packages, then
# configure and build ftc in the build directory given to ftc_build.
# Everything is quiet unless it fails.

FTC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FTC_PACKAGES="gcc g++ pkg-config meson ninja-build llvm-19-dev libisl-dev libsqlite3-dev check openmpi-bin libopenmpi-dev"

# Install what is missing: apt-get as root, else print the command and fail.
ftc_install_deps() {
	local missing=() p
	for p in $FTC_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "ftc: missing Debian packages; install them with:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		return 1
	fi
	echo "ftc: installing ${missing[*]} ..." >&2
	local log
	log=$(mktemp)
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "ftc: apt-get failed" >&2
		return 1
	fi
	rm -f "$log"
}

# ftc_build DIR [meson options...]: configure DIR once, then build it.
ftc_build() {
	local dir=$1 log
	shift
	log=$(mktemp)
	if [ ! -f "$dir/build.ninja" ]; then
		if ! meson setup "$dir" "$FTC_ROOT" --native-file "$FTC_ROOT/native/llvm19.ini" \
			"$@" >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			rm -rf "$dir"
			echo "ftc: meson setup failed" >&2
			return 1
		fi
	fi
	if ! meson compile -C "$dir" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "ftc: build failed" >&2
		return 1
	fi
	rm -f "$log"
}
