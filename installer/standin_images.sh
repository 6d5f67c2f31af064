#!/usr/bin/env bash
# Build local stand-ins for the official base images from Debian's packages, for machines
# whose Docker engine cannot pull from a registry (the test machine). Users never need this:
# the Dockerfiles and docker-compose.yml default to the official images.
#
#   eval "$(installer/standin_images.sh)"   builds what is missing or out of date and prints
#                                           PYTHON_IMAGE=…, RUST_IMAGE=…, MYSQL_IMAGE=…
#                                           for the builds and compose
#
#   trove-standin/debian:bookworm-slim        debootstrap --variant=minbase, docs stripped
#                                             (the base of the others)
#   trove-standin/python:3.11-slim-bookworm   Debian's python3 (3.11) with venv
#   trove-standin/rust:1-slim-bookworm        gcc + this machine's Rust toolchain (Debian's
#                                             rustc is too old for the crate)
#   trove-standin/mysql:8.4-mariadb           Debian's MariaDB behind an entrypoint that
#                                             honours the official image's variables and
#                                             /docker-entrypoint-initdb.d
# Each image carries a hash of its recipe (and its base's) and is rebuilt when that changes.
#
# Certificate authorities this machine trusts beyond Debian's (the *.crt files in
# /usr/local/share/ca-certificates, e.g. of a TLS-inspecting proxy) are trusted in the
# stand-ins too, so that builds inside them reach PyPI and crates.io as the host does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix=trove-standin
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { echo "standin: $*" >&2; }
hash() { sha256sum | cut -c1-16; }

current() { # image recipe → true when the image exists and was built from that recipe
  [ "$(docker image inspect --format '{{ index .Config.Labels "org.trove.standin" }}' "$1" 2>/dev/null)" = "$2" ]
}

build() { # image recipe context-dir dockerfile-text
  log "building $1"
  local old
  old="$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)"
  printf '%s\n' "$4" | nice docker build --label "org.trove.standin=$2" -t "$1" -f - "$3" \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
  # The replaced image, unless something still uses it.
  [ -z "$old" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

# As in the official slim images: no documentation, manuals or translations, no recommends.
dpkg_slim='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias'

debian="$prefix/debian:$suite-slim"
debian_file="FROM $prefix/rootfs:$suite
ENV LANG=C.UTF-8
CMD [\"bash\"]"
extra_ca=(/usr/local/share/ca-certificates/*.crt)
[ -e "${extra_ca[0]}" ] || extra_ca=()
debian_recipe="$(printf '%s\n' minbase "$suite" "$dpkg_slim" "$debian_file" | cat - "${extra_ca[@]}" | hash)"
if ! current "$debian" "$debian_recipe"; then
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  log "debootstrap $suite (minbase) from $mirror"
  root="$work/rootfs"
  nice debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  printf '%s\n' "$dpkg_slim" >"$root/etc/dpkg/dpkg.cfg.d/docker"
  mkdir -p "$root/usr/local/share/ca-certificates"
  [ ${#extra_ca[@]} -eq 0 ] || cp "${extra_ca[@]}" "$root/usr/local/share/ca-certificates/"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/{man,info}/* "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$prefix/rootfs:$suite" >/dev/null
  rm -rf "$root"
  build "$debian" "$debian_recipe" "$work" "$debian_file"
fi

python="$prefix/python:3.11-slim-$suite"
python_file="FROM $debian
RUN apt-get update && apt-get install -y python3 python3-venv ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
python_recipe="$(printf '%s\n' "$debian_recipe" "$python_file" | hash)"
current "$python" "$python_recipe" || build "$python" "$python_recipe" "$work" "$python_file"

rust="$prefix/rust:1-slim-$suite"
rust_file="FROM $debian
RUN apt-get update && apt-get install -y gcc libc6-dev ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
rust_recipe="$(printf '%s\n' "$debian_recipe" "$rust_file" "$(rustc --version)" | hash)"
if ! current "$rust" "$rust_recipe"; then
  toolchain="$(rustc --print sysroot)"
  mkdir -p "$work/rust/bin"
  cp -a "$toolchain/lib" "$toolchain/libexec" "$work/rust/"
  cp -a "$toolchain/bin/cargo" "$toolchain/bin/rustc" "$work/rust/bin/"
  build "$rust" "$rust_recipe" "$work" "$rust_file"
  rm -rf "$work/rust"
fi

mysql="$prefix/mysql:8.4-mariadb"
mysql_file="FROM $debian
RUN apt-get update && apt-get install -y mariadb-server mariadb-client \\
    && rm -rf /var/lib/apt/lists/* /var/lib/mysql/* \\
    && install -d -o mysql -g mysql /var/lib/mysql /run/mysqld /docker-entrypoint-initdb.d
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT [\"docker-entrypoint.sh\"]
CMD [\"mariadbd\"]"
mysql_recipe="$(printf '%s\n' "$debian_recipe" "$mysql_file" | cat - "$here/standins/mariadb-entrypoint.sh" | hash)"
if ! current "$mysql" "$mysql_recipe"; then
  cp "$here/standins/mariadb-entrypoint.sh" "$work/"
  build "$mysql" "$mysql_recipe" "$work" "$mysql_file"
fi

echo "PYTHON_IMAGE=$python"
echo "RUST_IMAGE=$rust"
echo "MYSQL_IMAGE=$mysql"
