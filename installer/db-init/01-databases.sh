#!/bin/sh
# First start of the database container only: two databases, each with its own
# least-privilege user. Runs under the official mysql and mariadb images' entrypoints.
set -eu
client="$(command -v mysql || command -v mariadb)"
MYSQL_PWD="$MYSQL_ROOT_PASSWORD" "$client" --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS trove CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS compressor CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'trove'@'%' IDENTIFIED BY '$TROVE_DB_PASSWORD';
CREATE USER IF NOT EXISTS 'compressor'@'%' IDENTIFIED BY '$COMPRESSOR_DB_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES ON trove.* TO 'trove'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES ON compressor.* TO 'compressor'@'%';
SQL
