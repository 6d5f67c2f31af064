#!/bin/bash
# Entrypoint of the MariaDB stand-in for the official mysql/mariadb images: the same
# variables (MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, and the
# MARIADB_* spellings) and, on first start only, /docker-entrypoint-initdb.d/*.sh|*.sql run
# against a temporary server that listens on the socket only, as the official images do.
set -euo pipefail
[ "${1:-mariadbd}" != "${1#-}" ] && set -- mariadbd "$@"
[ "${1:-}" = mariadbd ] || exec "$@"

datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
root_pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
user="${MARIADB_USER:-${MYSQL_USER:-}}"
user_pw="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
install -d -o mysql -g mysql /run/mysqld
chown mysql:mysql "$datadir"

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$root_pw" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then
    echo "error: database is uninitialized and MYSQL_ROOT_PASSWORD is not set" >&2
    exit 1
  fi
  echo "initializing the database in $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=socket >/dev/null
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" "${@:2}" &
  temp_pid=$!
  for _ in $(seq 60); do
    mariadb-admin --socket="$socket" -uroot ping --silent 2>/dev/null && break
    sleep 1
  done
  sql() { mariadb --protocol=socket --socket="$socket" -uroot "$@"; }
  sql <<SQL
DELETE FROM mysql.user WHERE user = '';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw}';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${root_pw}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  export MYSQL_PWD="$root_pw"
  if [ -n "$database" ]; then
    sql -e "CREATE DATABASE IF NOT EXISTS \`$database\`"
  fi
  if [ -n "$user" ] && [ -n "$user_pw" ]; then
    sql -e "CREATE USER '$user'@'%' IDENTIFIED BY '$user_pw'"
    [ -n "$database" ] && sql -e "GRANT ALL ON \`$database\`.* TO '$user'@'%'"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) echo "running $f"; sql < "$f" ;;
    esac
  done
  unset MYSQL_PWD
  kill "$temp_pid"
  wait "$temp_pid" || true
  echo "database initialized"
fi
exec "$@" --user=mysql --datadir="$datadir" --socket="$socket" --bind-address=0.0.0.0
