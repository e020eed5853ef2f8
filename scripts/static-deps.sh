#!/usr/bin/env bash
# Builds every library the release binaries link, for musl libc, from
# Debian's own source packages, with only the features libkube uses:
#   zlib, OpenSSL (TLS client, X.509, EC/RSA keys), nghttp2 (library only),
#   libyaml, jansson, libwebsockets (client, raw file adoption, no HTTP/2),
#   libcurl (HTTP/HTTPS only; OpenSSL, nghttp2, zlib),
#   mimalloc (as one object file that replaces musl's malloc: see below).
# The result is a prefix in the cache that `cmake -DROLLGUARD_STATIC_PREFIX=`
# links fully static with CC=musl-gcc (scripts/release.sh does both). Each
# package's debian/copyright is kept under PREFIX/licenses/ for the release
# archives, and PREFIX/VERSIONS lists the source versions used.
# Prints the prefix on stdout; progress on stderr. Idempotent: a finished
# prefix is reused; change RECIPE when the flags below change.
set -euo pipefail
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
arch=$(dpkg --print-architecture)
RECIPE=musl-2
prefix=$cache/static/$RECIPE-$arch
log() { printf 'static-deps: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

if [ -f "$prefix/.done" ]; then
	echo "$prefix"
	exit 0
fi

missing=()
for p in musl-tools musl-dev linux-libc-dev cmake make dpkg-dev; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v musl-gcc >/dev/null || die "musl-gcc not found after installing musl-tools"

# Source packages through a private apt configuration (deb-src of the
# machine's own suites), so the system's sources stay as they are.
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
log "updating the deb-src lists"
apt-get "${apt_opts[@]}" update -qq

srcdir=$work/$RECIPE
rm -rf "$srcdir" "$prefix"
mkdir -p "$srcdir" "$prefix/include" "$prefix/lib" "$prefix/licenses"
: >"$prefix/VERSIONS"

# fetch PKG: unpacks Debian's source package PKG (Debian patches applied)
# under $srcdir and prints its directory. A mirror can list a version whose
# files it no longer serves, so the versions are tried newest first.
fetch() {
	local pkg=$1 v dir
	for v in $(apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -rV | uniq); do
		rm -rf "$srcdir/$pkg.get" && mkdir -p "$srcdir/$pkg.get"
		if (cd "$srcdir/$pkg.get" && apt-get "${apt_opts[@]}" source -qq "$pkg=$v" >/dev/null 2>&1); then
			dir=$(find "$srcdir/$pkg.get" -mindepth 1 -maxdepth 1 -type d | head -n 1)
			[ -n "$dir" ] || continue
			echo "$pkg $v" >>"$prefix/VERSIONS"
			mkdir -p "$prefix/licenses/$pkg"
			cp "$dir/debian/copyright" "$prefix/licenses/$pkg/copyright"
			echo "$dir"
			return 0
		fi
		log "$pkg $v: not served whole, trying an older version"
	done
	die "no source package of $pkg could be fetched"
}

# musl-gcc leaves /usr/include out, so the Linux UAPI headers that OpenSSL,
# libwebsockets and curl include come in through the prefix.
ln -sfn /usr/include/linux "$prefix/include/linux"
ln -sfn /usr/include/asm-generic "$prefix/include/asm-generic"
ln -sfn "/usr/include/$(gcc -dumpmachine)/asm" "$prefix/include/asm"

export CC=musl-gcc
cflags="-O2 -fPIE -isystem $prefix/include"
jobs=$(nproc)

# cmake_build SRC NAME ARGS...: a static CMake project into the prefix.
cmake_build() {
	local src=$1 name=$2
	shift 2
	cmake -S "$src" -B "$srcdir/build-$name" -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_C_FLAGS="$cflags" \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_PREFIX_PATH="$prefix" -Wno-dev "$@" >"$srcdir/$name.log" 2>&1 &&
		cmake --build "$srcdir/build-$name" -j "$jobs" >>"$srcdir/$name.log" 2>&1 &&
		cmake --install "$srcdir/build-$name" >>"$srcdir/$name.log" 2>&1 ||
		die "$name failed: see $srcdir/$name.log"
}

log "zlib"
src=$(fetch zlib)
(cd "$src" && CFLAGS="$cflags" ./configure --static --prefix="$prefix" >"$srcdir/zlib.log" 2>&1 &&
	make -j "$jobs" libz.a >>"$srcdir/zlib.log" 2>&1 && make install >>"$srcdir/zlib.log" 2>&1) ||
	die "zlib failed: see $srcdir/zlib.log"

log "OpenSSL (TLS client and X.509 only; about a minute)"
src=$(fetch openssl)
# openssldir /etc/ssl: the certificates of the machine the binary runs on
# (cert.pem, certs/), as Debian's own OpenSSL finds them; SSL_CERT_FILE and
# SSL_CERT_DIR override as usual.
(cd "$src" && CFLAGS="$cflags" ./Configure "linux-$(uname -m)" --prefix="$prefix" --libdir=lib --openssldir=/etc/ssl \
	no-shared no-tests no-engine no-afalgeng no-async no-comp no-dso no-module no-legacy no-ssl3 no-dtls \
	no-srp no-idea no-mdc2 no-rc5 no-whirlpool no-camellia no-seed no-sm2 no-sm3 no-sm4 no-aria no-bf \
	no-cast no-md4 no-rc2 no-rc4 no-des no-gost no-siphash no-ocb no-cms no-ts no-ct no-ui-console \
	>"$srcdir/openssl.log" 2>&1 && make -j "$jobs" build_libs >>"$srcdir/openssl.log" 2>&1 &&
	make install_dev >>"$srcdir/openssl.log" 2>&1) || die "OpenSSL failed: see $srcdir/openssl.log"

log "nghttp2, libyaml, jansson"
cmake_build "$(fetch nghttp2)" nghttp2 -DENABLE_LIB_ONLY=ON -DENABLE_STATIC_LIB=ON -DENABLE_SHARED_LIB=OFF \
	-DENABLE_DOC=OFF
cmake_build "$(fetch libyaml)" libyaml -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF \
	-DINSTALL_CMAKE_DIR=lib/cmake/yaml
cmake_build "$(fetch jansson)" jansson -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
	-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF

log "libwebsockets"
cmake_build "$(fetch libwebsockets)" libwebsockets -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
	-DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF -DLWS_WITH_HTTP2=OFF -DLWS_IPV6=ON \
	-DLWS_WITH_SSL=ON -DLWS_OPENSSL_INCLUDE_DIRS="$prefix/include" \
	-DLWS_OPENSSL_LIBRARIES="$prefix/lib/libssl.a;$prefix/lib/libcrypto.a" -DDISABLE_WERROR=ON

log "libcurl (http/https)"
src=$(fetch curl)
(cd "$src" && CFLAGS="$cflags" CPPFLAGS="-isystem $prefix/include" LDFLAGS="-L$prefix/lib" \
	PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" ./configure --quiet --prefix="$prefix" --disable-shared \
	--enable-static --with-pic --with-openssl="$prefix" --with-nghttp2="$prefix" --with-zlib="$prefix" \
	--enable-ipv6 --without-ca-bundle --without-ca-path --with-ca-fallback \
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
	--disable-gopher --disable-mqtt --disable-manual --disable-ntlm --disable-ntlm-wb --disable-docs \
	--without-libpsl --without-libidn2 --without-brotli --without-zstd --without-librtmp \
	--without-libssh2 --without-gssapi --without-libgsasl --disable-ares >"$srcdir/curl.log" 2>&1 &&
	make -j "$jobs" -C lib >>"$srcdir/curl.log" 2>&1 && make -C lib install >>"$srcdir/curl.log" 2>&1 &&
	make -C include install >>"$srcdir/curl.log" 2>&1) || die "libcurl failed: see $srcdir/curl.log"

# mimalloc replaces musl's allocator in the binaries (linked as one object
# file, so its malloc/free/realloc/calloc win over libc.a's; musl >= 1.2.1
# keeps its own internal allocations apart, the supported way to replace
# malloc in a static musl program). musl's mallocng takes one global lock
# and hands freed groups back to the kernel at once: probecheck -A over
# 5,000 Deployments, whose list threads decode and free 500-object pages,
# made 24k futex and 118k mmap/munmap calls (1.05 s of system time);
# mimalloc's per-thread heaps make 58 and a few hundred (bench/README.md).
log "mimalloc"
cmake_build "$(fetch mimalloc)" mimalloc -DMI_BUILD_SHARED=OFF -DMI_BUILD_STATIC=OFF -DMI_BUILD_OBJECT=ON \
	-DMI_BUILD_TESTS=OFF -DMI_OVERRIDE=ON -DMI_INSTALL_TOPLEVEL=ON
[ -f "$prefix/lib/mimalloc.o" ] || die "mimalloc did not install lib/mimalloc.o: see $srcdir/mimalloc.log"

# musl's own licence travels with the binaries too.
mkdir -p "$prefix/licenses/musl"
cp /usr/share/doc/musl/copyright "$prefix/licenses/musl/copyright"
echo "musl $(dpkg-query -W -f '${Version}' musl)" >>"$prefix/VERSIONS"

rm -rf "$srcdir"
touch "$prefix/.done"
log "done: $prefix"
echo "$prefix"
