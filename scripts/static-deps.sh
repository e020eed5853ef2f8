#!/usr/bin/env bash
# Builds the static libcurl that release binaries link (HTTP/HTTPS only,
# OpenSSL, nghttp2, zlib: the features libkube uses) from Debian's own
# source package, into the cache. Debian's libcurl.a cannot be linked
# statically (it needs static GSSAPI, LDAP, libssh2, librtmp, libpsl...),
# and its shared library drags ~30 others into every process start.
# The other dependencies' static archives come from their -dev packages.
# Prints the install prefix on stdout. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
arch=$(dpkg --print-architecture)
prefix=$cache/static/$arch
log() { printf 'static-deps: %s\n' "$*" >&2; }

missing=()
for p in libnghttp2-dev libcap-dev dpkg-dev; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f "$prefix/lib/libcurl.a" ]; then
	echo "$prefix"
	exit 0
fi

# Debian's source package, fetched with a private apt configuration (deb-src
# of the machine's own suites) so the system's sources stay as they are.
work=$cache/src/static
mkdir -p "$work/apt/lists/partial" "$work/apt/archives/partial"
: >"$work/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >>"$work/apt/sources.list"
done
sources_parts=$work/apt/sources.list.d
mkdir -p "$sources_parts"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" >"$sources_parts/$(basename "$f")"
done
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o "Dir::Etc::SourceParts=$sources_parts"
	-o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache::Archives=$work/apt/archives" -o "APT::Sandbox::User=root")
log "fetching Debian's curl source package"
apt-get "${apt_opts[@]}" update -qq
version=$(dpkg-query -W -f '${source:Version}' libcurl4-openssl-dev 2>/dev/null || true)
rm -rf "$work/curl"
mkdir -p "$work/curl"
(cd "$work/curl" && apt-get "${apt_opts[@]}" source -qq "curl${version:+=$version}" >/dev/null)
src=$(find "$work/curl" -maxdepth 1 -type d -name 'curl-*' | head -n 1)
[ -n "$src" ] || { log "error: no curl source tree"; exit 1; }

log "building a static libcurl (http/https, OpenSSL, nghttp2, zlib) from $(basename "$src")"
(
	cd "$src"
	./configure --quiet --prefix="$prefix" --disable-shared --enable-static --with-pic \
		--with-openssl --with-nghttp2 --with-zlib --enable-ipv6 \
		--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
		--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-manual --disable-ntlm --disable-ntlm-wb --disable-docs \
		--without-libpsl --without-libidn2 --without-brotli --without-zstd --without-librtmp \
		--without-libssh2 --without-gssapi --without-libgsasl --disable-ares >/dev/null
	make -s -j "$(nproc)" -C lib >/dev/null
	make -s -C lib install >/dev/null
	make -s -C include install >/dev/null
	install -m 644 libcurl.pc "$prefix/lib/pkgconfig/" 2>/dev/null || { mkdir -p "$prefix/lib/pkgconfig" && install -m 644 libcurl.pc "$prefix/lib/pkgconfig/"; }
)
echo "$prefix"
