#!/usr/bin/env bash
# What `make` needs from the machine beyond Python 3.11 and make itself.
#
#   .ci/services.sh venv PYTHON        PYTHON can make a virtual environment (Debian ships
#                                      that part apart: python3.X-venv)
#   .ci/services.sh packages           Chromium, ChromeDriver and PostgreSQL, for the tests
#   .ci/services.sh test COMMAND...    the page's tests need Chromium and ChromeDriver, the
#                                      database tests a PostgreSQL server: install what is
#                                      missing, then run COMMAND with CROSSPLAN_TEST_POSTGRES_URL
#                                      set (to a throwaway server of this run's own unless it
#                                      is set already) and return its exit status
#
# Missing Debian packages are installed with apt-get: as root directly, otherwise through
# `sudo -n`; when neither can, it stops and says what to install. With everything in place it
# installs nothing, and a test run costs a PostgreSQL start (about a second).
set -euo pipefail

missing=()

# Install the Debian packages in "missing", or stop saying how.
install_missing() {
    [ ${#missing[@]} -gt 0 ] || return 0
    local as_root=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "make needs these Debian packages: ${missing[*]}" >&2
            echo "  install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
            echo "  (this user is not root and may not use sudo without a password)" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "make needs ${missing[*]} (the names of Debian's packages), and this machine" \
             "has no apt-get: install them with its own package manager" >&2
        exit 1
    fi
    echo "installing ${missing[*]} (apt-get)" >&2
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The directory of PostgreSQL's initdb and pg_ctl (the newest Debian version), or nothing.
postgres_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1) || true
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    fi
    return 0
}

venv() {
    local python=$1
    if ! command -v "$python" >/dev/null; then
        echo "make needs $python: install Python 3.11 (Debian: apt-get install python3.11)" >&2
        exit 1
    fi
    if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=("$("$python" -c 'import sys; print("python3.%d-venv" % sys.version_info[1])')")
    fi
    install_missing
}

# The Debian packages the tests need, installed when missing.
packages() {
    # The page's tests drive Debian's headless Chromium with Selenium (tests/serving/web/).
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        missing+=(chromium chromium-driver)
    fi
    # The database tests run on SQLite and on a real PostgreSQL server.
    if [ -z "${CROSSPLAN_TEST_POSTGRES_URL:-}" ] && [ -z "$(postgres_bin)" ]; then
        missing+=(postgresql)
    fi
    install_missing
}

test_run() {
    [ $# -gt 0 ] || { echo "usage: $0 test COMMAND [ARG...]" >&2; exit 2; }
    packages
    if [ -n "${CROSSPLAN_TEST_POSTGRES_URL:-}" ]; then
        exec "$@"
    fi

    # One server for the whole run (every test worker shares it), in a temporary directory,
    # on a free port. initdb refuses to run as root, so as root the server is the postgres
    # user's (the Debian package creates that user). bin, pgdir and as_postgres are global:
    # the exit trap needs them.
    local pgport status
    bin=$(postgres_bin)
    [ -n "$bin" ] || { echo "no PostgreSQL initdb and pg_ctl on this machine" >&2; exit 1; }
    as_postgres=()
    if [ "$(id -u)" = 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "as root the test server runs as the user postgres, and there is none:" \
                 "install Debian's postgresql (it creates the user) or run make as another user" >&2
            exit 1
        fi
        as_postgres=(runuser -u postgres --)
    fi
    pgdir=$(mktemp -d /tmp/crossplan-test-pg.XXXXXX)  # not $TMPDIR: the postgres user must reach it
    stop_postgres() {
        if [ -f "$pgdir/data/postmaster.pid" ]; then
            "${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null || true
        fi
        rm -rf "$pgdir"
    }
    trap stop_postgres EXIT
    [ ${#as_postgres[@]} -eq 0 ] || chown postgres "$pgdir"
    pgport=$("${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_postgres[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres --auth=trust >"$pgdir/initdb.log" 2>&1 \
        || { cat "$pgdir/initdb.log" >&2; echo "initdb failed (above)" >&2; exit 1; }
    "${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off" start >/dev/null \
        || { cat "$pgdir/log" >&2; echo "PostgreSQL did not start (its log is above)" >&2; exit 1; }
    export CROSSPLAN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pgport/postgres"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests at" \
         "$CROSSPLAN_TEST_POSTGRES_URL (stopped when they end)" >&2
    # The command runs in the background so that a TERM sent to this script is passed on at
    # once (a foreground command would first have to end); a Ctrl-C reaches the command
    # directly, so INT only waits for it. Either way the server is stopped on the way out.
    ( trap - INT QUIT; exec "$@" ) <&0 &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null || true' TERM
    trap ':' INT
    status=0
    while :; do
        wait "$child" && status=0 || status=$?
        kill -0 "$child" 2>/dev/null || break
    done
    exit "$status"
}

case "${1:-}" in
    venv) [ $# -eq 2 ] || { echo "usage: $0 venv PYTHON" >&2; exit 2; }; venv "$2" ;;
    packages) packages ;;
    test) shift; test_run "$@" ;;
    *) echo "usage: $0 venv PYTHON | $0 packages | $0 test COMMAND [ARG...]" >&2; exit 2 ;;
esac
