#!/usr/bin/env bash
# The project's one test command.
#
#   scripts/test.sh [pytest args...]
#
# 1. creates .venv if missing and installs the package with its test extras;
# 2. makes sure PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) run:
#    starts them when installed but stopped, installs them (apt, as root) when
#    missing, then provisions what the suite expects (postgres over TCP without
#    a password, root@localhost with an empty password, local_infile, database
#    `test` on both);
# 3. fails when a server still cannot be reached (the suite needs both, and a
#    skipped database test proves nothing);
# 4. runs ruff, mypy (see [tool.mypy] in pyproject.toml), then pytest with two workers; exits with pytest's code, and
#    "no tests collected" (exit 5) is a failure.
#
# Idempotent: on a machine where everything already runs it only checks.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

PG_HOST=127.0.0.1
PG_PORT=5432
MY_HOST=127.0.0.1
MY_PORT=3306
WAIT_SECONDS=${PIPEKIT_SERVICE_WAIT:-90}

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'scripts/test.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_updated=0
apt_install() {
    is_root || die "cannot install $* (not root); install them yourself and rerun"
    command -v apt-get >/dev/null || die "cannot install $* (no apt-get on this machine)"
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
            log "apt-get update failed; trying with the package lists already on disk"
        apt_updated=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        die "apt-get install $* failed"
}

# ---------------------------------------------------------------- 1. venv
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $("$PY" --version 2>&1)"
    if ! "$PY" -m venv .venv 2>/dev/null; then
        # Debian ships venv (ensurepip) separately.
        rm -rf .venv
        apt_install python3-venv
        "$PY" -m venv .venv
    fi
fi
VPY=$ROOT/.venv/bin/python
log "pip install -e '.[test]'"
"$VPY" -m pip install -q --disable-pip-version-check -e '.[test]'
export VIRTUAL_ENV=$ROOT/.venv
export PATH=$ROOT/.venv/bin:$PATH

# ---------------------------------------------------------------- 2. services
port_open() { timeout 2 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

wait_port() { # name host port
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        port_open "$2" "$3" && return 0
        sleep 1
    done
    return 1
}

pg_version() { # the newest cluster's version, else the newest installed server's
    local v
    v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$v" ] || v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
    echo "$v"
}

start_postgres() {
    local ver
    ver=$(pg_version)
    if [ -z "$ver" ] || ! command -v pg_ctlcluster >/dev/null; then
        apt_install postgresql
        ver=$(pg_version)
        [ -n "$ver" ] || die "postgresql was installed but no server version is under /usr/lib/postgresql"
    fi
    if [ ! -d "/etc/postgresql/$ver/main" ]; then
        is_root || die "no PostgreSQL cluster $ver/main and not root to create one"
        log "creating PostgreSQL cluster $ver/main"
        pg_createcluster "$ver" main >/dev/null
    fi
    log "starting PostgreSQL $ver/main"
    # Exit code 2 means "already running"; the port check below decides.
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
}

start_mariadb() {
    if [ ! -x /usr/sbin/mariadbd ]; then
        apt_install mariadb-server
    fi
    is_root || die "MariaDB is stopped and starting it needs root"
    # /run is a tmpfs: the socket directory is gone after a reboot.
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    log "starting MariaDB"
    # --user=mysql: mariadbd refuses to run as root, and Debian's stock
    # configuration does not name the user (systemd's unit does).
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
}

ensure_server() { # name host port start-function
    local name=$1 host=$2 port=$3 start=$4
    if port_open "$host" "$port"; then
        log "$name is reachable on $host:$port"
        return 0
    fi
    log "$name is not reachable on $host:$port"
    if ! "$start"; then
        return 1
    fi
    log "waiting up to ${WAIT_SECONDS}s for $name on $host:$port"
    wait_port "$name" "$host" "$port"
}

service_error() {
    local msg="$1 is not reachable on $2:$3 and could not be started or installed; the test suite needs it"
    if [ "${CI:-}" = "true" ]; then
        die "$msg (CI: database tests are never skipped)"
    fi
    die "$msg"
}

# The notification tests make a throw-away TLS certificate with the openssl command.
command -v openssl >/dev/null || apt_install openssl
# The web console's browser tests drive Debian's Chromium through Playwright (never
# `playwright install`, which downloads a browser of its own).
command -v chromium >/dev/null || apt_install chromium
# The TUI's terminal test runs `pipekit tui` in a real terminal (tests/tui/test_terminal.py).
command -v tmux >/dev/null || apt_install tmux
# The JDBC bridge's tests (tests/drivers/test_jdbc.py, tests/engine/test_run_jdbc.py,
# tests/cli/test_jdbc.py) need a JDK and the jars of Debian's packages: PostgreSQL's,
# Derby's (with its network server), HSQLDB's, jt400 (DB2 for i) and jTDS.
jdbc_packages=()
command -v java >/dev/null || jdbc_packages+=(default-jdk-headless)
for pkg_jar in libpostgresql-jdbc-java:postgresql.jar libderby-java:derby.jar \
    libderbyclient-java:derbyclient.jar derby-tools:derbytools.jar libhsqldb-java:hsqldb.jar \
    libjt400-java:jt400.jar libjtds-java:jtds.jar; do
    [ -e "/usr/share/java/${pkg_jar#*:}" ] || jdbc_packages+=("${pkg_jar%%:*}")
done
[ ${#jdbc_packages[@]} -eq 0 ] || apt_install "${jdbc_packages[@]}"

ensure_server PostgreSQL "$PG_HOST" "$PG_PORT" start_postgres ||
    service_error PostgreSQL "$PG_HOST" "$PG_PORT"
ensure_server MariaDB "$MY_HOST" "$MY_PORT" start_mariadb ||
    service_error MariaDB "$MY_HOST" "$MY_PORT"

# -- PostgreSQL: user postgres over TCP without a password, database test.
pg_try() { # sql
    "$VPY" - "$1" <<EOF 2>/dev/null
import sys, psycopg
with psycopg.connect(host="$PG_HOST", port=$PG_PORT, user="postgres", dbname="postgres",
                     connect_timeout=5, autocommit=True) as c:
    cur = c.execute(sys.argv[1])
    r = cur.fetchone() if cur.description else None
    print(r[0] if r else "")
EOF
}

if ! pg_try "select 1" >/dev/null; then
    log "PostgreSQL refuses postgres@$PG_HOST without a password; adding a trust line to pg_hba.conf"
    is_root || die "cannot change pg_hba.conf (not root)"
    cd /  # runuser keeps the working directory, which postgres may not be allowed to enter
    hba=$(runuser -u postgres -- psql -p "$PG_PORT" -Atc "show hba_file") ||
        die "cannot reach PostgreSQL over its local socket to find pg_hba.conf"
    line="host all all 127.0.0.1/32 trust"
    if ! grep -qxF "$line" "$hba"; then
        cp -p "$hba" "$hba.pipekit-backup"
        { echo "# added by pipekit scripts/test.sh"; echo "$line"; cat "$hba.pipekit-backup"; } >"$hba"
    fi
    runuser -u postgres -- psql -p "$PG_PORT" -Atc "select pg_reload_conf()" >/dev/null
    cd "$ROOT"
    sleep 1
    pg_try "select 1" >/dev/null || die "PostgreSQL still refuses postgres@$PG_HOST after editing $hba"
fi
if [ "$(pg_try "select count(*) from pg_database where datname = 'test'")" != 1 ]; then
    log "creating PostgreSQL database test"
    pg_try "create database test" >/dev/null || die "cannot create PostgreSQL database test"
fi
log "PostgreSQL ready: $(pg_try "select current_setting('server_version')")"

# -- MariaDB: root with an empty password over TCP, local_infile, database test.
my_try() { # sql
    "$VPY" - "$1" <<EOF 2>/dev/null
import sys, pymysql
c = pymysql.connect(host="$MY_HOST", port=$MY_PORT, user="root", password="",
                    connect_timeout=5, autocommit=True)
with c.cursor() as cur:
    cur.execute(sys.argv[1])
    r = cur.fetchone()
    print(r[0] if r else "")
c.close()
EOF
}

my_socket() { # sql, as root over the local socket (unix_socket auth)
    local client
    client=$(command -v mariadb || command -v mysql) || die "no mariadb client to fix MariaDB's root account"
    "$client" -uroot -e "$1"
}

if ! my_try "select 1" >/dev/null; then
    log "MariaDB refuses root@$MY_HOST with an empty password; allowing it (socket access kept)"
    is_root || die "cannot change MariaDB's root account (not root)"
    my_socket "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" ||
        die "cannot change root@localhost over the local socket"
    if ! my_try "select 1" >/dev/null; then
        # With skip-name-resolve, TCP from 127.0.0.1 does not match 'localhost'.
        my_socket "CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
                   GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION"
    fi
    my_try "select 1" >/dev/null || die "MariaDB still refuses root@$MY_HOST"
fi
if [ "$(my_try "select @@global.local_infile")" != 1 ]; then
    log "enabling MariaDB local_infile"
    my_try "SET GLOBAL local_infile = 1" >/dev/null || die "cannot enable local_infile"
fi
my_try "CREATE DATABASE IF NOT EXISTS test" >/dev/null || die "cannot create MariaDB database test"
log "MariaDB ready: $(my_try "select version()")"

# ---------------------------------------------------------------- 3. lint
lint_paths=()
for d in pipekit tests bench; do
    [ -e "$d" ] && lint_paths+=("$d")
done
log "ruff check ${lint_paths[*]}"
ruff check "${lint_paths[@]}"
log "ruff format --check ${lint_paths[*]}"
ruff format --check "${lint_paths[@]}"

# Types: any mypy error fails the run (set -e). Strict on store/, services/, engine/,
# connectors/.
# MYPY-STEP
log "mypy pipekit"
mypy pipekit

# ---------------------------------------------------------------- 4. tests
log "pytest -n ${PIPEKIT_TEST_WORKERS:-2} $*"
set +e
"$VPY" -m pytest -n "${PIPEKIT_TEST_WORKERS:-2}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "scripts/test.sh: ERROR: pytest collected no tests (exit 5); that is a failure" >&2
fi
exit "$rc"
