#!/usr/bin/env bash
# The system packages the build and tests need besides Rust: pkg-config and
# OpenSSL's headers (librdkafka is built with TLS), psql (the PostgreSQL wire
# protocol test), Chromium with ChromeDriver (the dashboard's browser test),
# node with npm (node-postgres, one of the clients scripts/clients.sh installs)
# the openssl command (the TLS test reads its certificate's expiry with it),
# and the database browsers' drivers: Java with the PostgreSQL JDBC driver,
# and R with RPostgreSQL (tests/it/browse.rs).
# Installs the missing ones with apt-get, as root or through sudo; where it
# cannot, says what to install and fails.
set -euo pipefail
missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
command -v openssl >/dev/null || missing+=(openssl)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# Installed without their recommended packages (R's would add a compiler
# and dozens of R libraries the test does not use).
lean=()
command -v javac >/dev/null || lean+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || lean+=(libpostgresql-jdbc-java)
Rscript -e 'library(RPostgreSQL)' >/dev/null 2>&1 || lean+=(r-cran-rpostgresql)
if [ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ]; then
  exit 0
fi
say() { echo "packages: $*" >&2; }
if ! command -v apt-get >/dev/null; then
  say "the tests need ${missing[*]} ${lean[*]} (Debian's names); install them with this system's package manager"
  exit 1
fi
sudo_=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo_=sudo
  else
    say "the tests need ${missing[*]} ${lean[*]}; install them as root: apt-get install ${missing[*]} ${lean[*]}"
    exit 1
  fi
fi
say "installing ${missing[*]} ${lean[*]} with apt-get"
$sudo_ apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#lean[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
fi
