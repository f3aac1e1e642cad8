#!/usr/bin/env bash
# Local PostgreSQL and MariaDB servers for sparkpilot's database tests.
#
#   scripts/services/db.sh up       install (if missing), start (if not answering),
#                                   ensure user/role `sparkpilot` and database
#                                   `sparkpilot_test` on both, print the URLs
#   scripts/services/db.sh down     stop the servers that `up` in this checkout started
#   scripts/services/db.sh status   say whether each server answers
#
# Environment:
#   SPARKPILOT_PG_PORT          PostgreSQL port (default 5432)
#   SPARKPILOT_MYSQL_PORT       MariaDB port (default 3306)
#   SPARKPILOT_TEST_PG_URL      if set, PostgreSQL is yours: this script leaves it alone
#   SPARKPILOT_TEST_MYSQL_URL   if set, MariaDB is yours: this script leaves it alone
#   SPARKPILOT_DB_TIMEOUT       seconds to wait for a server to answer (default 90)
#
# Needs root (or passwordless sudo) to install and start servers. Progress goes
# to stderr; `up` prints the two URLs on stdout as NAME=URL lines. Logs and state
# live in .services/ at the project root. See docs/databases.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR="$ROOT/.services"
PG_LOG="$STATE_DIR/postgresql.log"
MY_LOG="$STATE_DIR/mariadb.log"
APT_LOG="$STATE_DIR/apt.log"
PG_STATE="$STATE_DIR/postgresql.state"
MY_STATE="$STATE_DIR/mariadb.state"
# The servers are machine-wide, so the lock is too (a CI clone and a developer's
# tree on the same machine serialise on it).
LOCK_FILE="${TMPDIR:-/tmp}/sparkpilot-db.lock"

PG_PORT="${SPARKPILOT_PG_PORT:-5432}"
MY_PORT="${SPARKPILOT_MYSQL_PORT:-3306}"
TIMEOUT="${SPARKPILOT_DB_TIMEOUT:-90}"
PG_EXTERNAL="${SPARKPILOT_TEST_PG_URL:-}"
MY_EXTERNAL="${SPARKPILOT_TEST_MYSQL_URL:-}"

DB_USER=sparkpilot
DB_PASS=sparkpilot
DB_NAME=sparkpilot_test
PG_URL="postgres://$DB_USER:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME"
MY_URL="mysql://$DB_USER:$DB_PASS@127.0.0.1:$MY_PORT/$DB_NAME"

PG_SOCKET_DIRS=(/var/run/postgresql /run/postgresql /tmp)
if [[ "$MY_PORT" == 3306 ]]; then MY_SOCK=/run/mysqld/mysqld.sock; else MY_SOCK="/run/mysqld/mysqld-$MY_PORT.sock"; fi
MY_PIDFILE="${MY_SOCK%.sock}.pid"
MY_SOCKETS=("$MY_SOCK" /run/mysqld/mysqld.sock /var/run/mysqld/mysqld.sock /tmp/mysql.sock)

export DEBIAN_FRONTEND=noninteractive

log() { printf '[db.sh] %s\n' "$*" >&2; }
die() { printf '[db.sh] ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
  if [[ "${1:-2}" == 0 ]]; then
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  else
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  fi
  exit "${1:-2}"
}

for v in PG_PORT MY_PORT TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

# --- privileges ---------------------------------------------------------------

SUDO=()
priv_checked=0
need_priv() {
  ((priv_checked)) && return 0
  if ((EUID != 0)); then
    if have sudo && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      die "installing and starting the database servers needs root (or passwordless sudo). Run as root, or start PostgreSQL/MariaDB yourself and set SPARKPILOT_TEST_PG_URL / SPARKPILOT_TEST_MYSQL_URL (see docs/databases.md)."
    fi
  fi
  priv_checked=1
}
# like need_priv, but only answers (for optional steps)
can_priv() {
  ((priv_checked || EUID == 0)) && return 0
  have sudo && sudo -n true 2>/dev/null && { SUDO=(sudo -n); priv_checked=1; }
}
as_root() { need_priv; "${SUDO[@]}" "$@"; }
# Run as another OS user (PostgreSQL refuses to run as root), from / so that
# an unreadable working directory is no problem.
as_user() {
  local user=$1
  shift
  need_priv
  if ((EUID == 0)); then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && sudo -n -u "$user" -- "$@")
  fi
}

# --- small helpers ------------------------------------------------------------

# shellcheck disable=SC2016 # $0 expands in the inner bash
tcp_open() { timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null; }

show_log_tail() {
  local file=$1
  if [[ -s "$file" ]]; then
    printf '[db.sh] ---- last lines of %s ----\n' "$file" >&2
    tail -n 25 "$file" >&2 || true
    printf '[db.sh] ----\n' >&2
  fi
}

# wait_until NAME LOG PID CHECK_FN HINT
wait_until() {
  local name=$1 logf=$2 pid=$3 check=$4 hint=$5
  local deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$logf"
      die "$name exited while starting. Log: $logf. $hint"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$logf"
      die "$name did not answer within ${TIMEOUT}s. Log: $logf. $hint"
    fi
    sleep 1
  done
}

APT_UPDATED=0
apt_install() {
  have apt-get || die "not installed here: $*, and there is no apt-get (not Debian/Ubuntu). Run PostgreSQL/MariaDB yourself and set SPARKPILOT_TEST_PG_URL / SPARKPILOT_TEST_MYSQL_URL (see docs/databases.md)."
  need_priv
  local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
  if ((APT_UPDATED == 0)); then
    log "apt-get update (log: $APT_LOG)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$APT_LOG" 2>&1 9>&-; then
      show_log_tail "$APT_LOG"
      die "apt-get update failed. Log: $APT_LOG. Check the package mirror, or bring your own servers via SPARKPILOT_TEST_PG_URL / SPARKPILOT_TEST_MYSQL_URL."
    fi
    APT_UPDATED=1
  fi
  log "apt-get install --no-install-recommends $* (takes a few minutes; log: $APT_LOG)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$@" >>"$APT_LOG" 2>&1 </dev/null 9>&-; then
    show_log_tail "$APT_LOG"
    die "apt-get install $* failed. Log: $APT_LOG."
  fi
}

# ============================================================================
# PostgreSQL
# ============================================================================

pg_bindir() {
  # newest installed server
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/postgres" && -x "$d/pg_ctl" ]] || continue
    best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n 1)
  done
  [[ -n "$best" ]] && printf '%s\n' "$best"
}

pg_installed() {
  [[ -n "$(pg_bindir)" ]] && have psql && have pg_isready && have pg_lsclusters && have pg_createcluster
}

pg_answers() {
  if have pg_isready; then
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 >/dev/null 2>&1
  else
    tcp_open "$PG_PORT"
  fi
}

# psql as the postgres OS user over a unix socket (peer auth): the superuser.
PG_ADMIN_SOCKDIR=""
pg_admin() {
  as_user postgres psql -X -q -v ON_ERROR_STOP=1 -h "$PG_ADMIN_SOCKDIR" -p "$PG_PORT" -d postgres "$@"
}
pg_find_admin() {
  local d
  can_priv && id postgres >/dev/null 2>&1 || return 1
  for d in "${PG_SOCKET_DIRS[@]}"; do
    [[ -S "$d/.s.PGSQL.$PG_PORT" ]] || continue
    PG_ADMIN_SOCKDIR=$d
    if pg_admin -Atc 'select 1' >/dev/null 2>&1; then return 0; fi
  done
  PG_ADMIN_SOCKDIR=""
  return 1
}

pg_user_login() {
  have psql || return 1
  PGPASSWORD=$DB_PASS PGCONNECT_TIMEOUT=5 psql -X -q -w -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" -Atc 'select 1' >/dev/null 2>&1
}

pg_start() {
  local bindir ver cluster datadir status port line v c p s d _owner _log
  bindir=$(pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
  ver=$(basename "$(dirname "$bindir")")

  # Debian cluster of that version: prefer "main", else the first one.
  cluster="" datadir="" status=""
  while read -r v c p s _owner d _log; do
    [[ "$v" == "$ver" ]] || continue
    if [[ -z "$cluster" || "$c" == main ]]; then cluster=$c port=$p status=$s datadir=$d; fi
  done < <(pg_lsclusters -h 2>/dev/null || true)

  if [[ -z "$cluster" ]]; then
    log "creating PostgreSQL cluster $ver/main"
    if ! as_root pg_createcluster --locale=C.UTF-8 --encoding=UTF8 -p "$PG_PORT" "$ver" main >>"$PG_LOG" 2>&1 </dev/null 9>&-; then
      show_log_tail "$PG_LOG"
      die "pg_createcluster $ver main failed. Log: $PG_LOG."
    fi
    line=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"')
    read -r _ cluster port status _ datadir _ <<<"$line"
  fi
  [[ -n "$datadir" ]] || die "could not determine the data directory of PostgreSQL cluster $ver/$cluster"

  if [[ "$status" == online* ]]; then
    die "PostgreSQL cluster $ver/$cluster is already running (configured port $port) but nothing answers on 127.0.0.1:$PG_PORT. Stop it ('pg_ctlcluster $ver $cluster stop'), or set SPARKPILOT_PG_PORT=$port, or set SPARKPILOT_TEST_PG_URL to use your own server. Log: $PG_LOG."
  fi

  as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  log "starting PostgreSQL $ver/$cluster on 127.0.0.1:$PG_PORT (data: $datadir, log: $PG_LOG)"
  printf '\n==== %s: pg_ctl start (%s/%s, port %s) ====\n' "$(date -Is)" "$ver" "$cluster" "$PG_PORT" >>"$PG_LOG"
  # pg_ctl (and so the postmaster) writes to the log file opened here by us,
  # so the postgres user needs no access to the project directory. setsid keeps
  # the server out of our session (Ctrl-C / CI job teardown).
  if ! as_user postgres setsid -w "$bindir/pg_ctl" start -w -t "$TIMEOUT" -D "$datadir" \
      -o "-c config_file=/etc/postgresql/$ver/$cluster/postgresql.conf -c listen_addresses=127.0.0.1 -p $PG_PORT" \
      >>"$PG_LOG" 2>&1 </dev/null 9>&-; then
    show_log_tail "$PG_LOG"
    die "PostgreSQL did not start. Log: $PG_LOG. Fix what the log says (port $PG_PORT in use? set SPARKPILOT_PG_PORT) or set SPARKPILOT_TEST_PG_URL to use your own server, then re-run '$0 up'."
  fi
}

pg_record_state() {
  local datadir vnum
  datadir=$(pg_admin -Atc 'show data_directory') || return 1
  vnum=$(pg_admin -Atc 'show server_version_num') || return 1
  {
    printf 'bindir=%q\n' "/usr/lib/postgresql/$((vnum / 10000))/bin"
    printf 'datadir=%q\n' "$datadir"
    printf 'port=%q\n' "$PG_PORT"
  } >"$PG_STATE"
}

pg_ensure_db() {
  local enc create
  log "PostgreSQL: ensuring role $DB_USER (LOGIN CREATEDB) and database $DB_NAME"
  pg_admin <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS';
  END IF;
END
\$\$;
SQL
  if [[ -z "$(pg_admin -Atc "select 1 from pg_database where datname = '$DB_NAME'")" ]]; then
    enc=$(pg_admin -Atc "select pg_encoding_to_char(encoding) from pg_database where datname = 'template1'")
    create="CREATE DATABASE $DB_NAME OWNER $DB_USER"
    [[ "$enc" == UTF8 ]] || create+=" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    pg_admin -c "$create"
  fi
  pg_admin -c "ALTER DATABASE $DB_NAME OWNER TO $DB_USER"
}

pg_up() {
  if [[ -n "$PG_EXTERNAL" ]]; then
    log "PostgreSQL: SPARKPILOT_TEST_PG_URL is set, leaving PostgreSQL to you"
    return 0
  fi
  local was_up=0
  pg_answers && was_up=1

  if ((was_up)); then
    log "PostgreSQL answers on 127.0.0.1:$PG_PORT"
  else
    pg_installed || die "internal: PostgreSQL should have been installed by now"
    if tcp_open "$PG_PORT"; then
      die "127.0.0.1:$PG_PORT is taken by a program that does not answer as PostgreSQL. Stop it, or set SPARKPILOT_PG_PORT to a free port, or set SPARKPILOT_TEST_PG_URL to use your own server."
    fi
    pg_start
    wait_until "PostgreSQL" "$PG_LOG" "" pg_answers \
      "Fix what the log says, or set SPARKPILOT_PG_PORT / SPARKPILOT_TEST_PG_URL, then re-run '$0 up'."
    log "PostgreSQL answers on 127.0.0.1:$PG_PORT"
  fi

  if pg_find_admin; then
    ((was_up)) || pg_record_state || log "warning: could not record PostgreSQL state; 'down' will not stop it"
    pg_ensure_db
  elif pg_user_login; then
    log "warning: no superuser access to the PostgreSQL on port $PG_PORT (not root, or not a local Debian cluster); user $DB_USER can already log in to $DB_NAME, so using it as it is"
  else
    die "PostgreSQL answers on 127.0.0.1:$PG_PORT, but this script cannot administer it (no 'postgres' OS user / unix socket for that port) and $DB_USER cannot log in to $DB_NAME. Create them yourself (see docs/databases.md) and set SPARKPILOT_TEST_PG_URL, or stop that server and re-run '$0 up'."
  fi

  pg_user_login || die "PostgreSQL: $DB_USER still cannot log in to $PG_URL (password auth over TCP). Check pg_hba.conf of that server; log: $PG_LOG."
}

pg_down() {
  if [[ -n "$PG_EXTERNAL" ]]; then
    log "PostgreSQL: SPARKPILOT_TEST_PG_URL is set, leaving PostgreSQL to you"
    return 0
  fi
  if [[ ! -f "$PG_STATE" ]]; then
    if pg_answers; then
      log "PostgreSQL on 127.0.0.1:$PG_PORT was not started by this checkout's 'up'; leaving it running"
    else
      log "PostgreSQL: not running"
    fi
    return 0
  fi
  local bindir datadir port
  # shellcheck disable=SC1090
  source "$PG_STATE"
  if [[ -f "$datadir/postmaster.pid" ]] || as_root test -f "$datadir/postmaster.pid"; then
    log "stopping PostgreSQL (port $port, data: $datadir)"
    printf '\n==== %s: pg_ctl stop ====\n' "$(date -Is)" >>"$PG_LOG"
    if ! as_user postgres "$bindir/pg_ctl" stop -w -t "$TIMEOUT" -m fast -D "$datadir" >>"$PG_LOG" 2>&1 </dev/null; then
      show_log_tail "$PG_LOG"
      die "could not stop PostgreSQL (data: $datadir). Log: $PG_LOG. Try: runuser -u postgres -- $bindir/pg_ctl stop -m immediate -D $datadir"
    fi
  else
    log "PostgreSQL: not running"
  fi
  rm -f "$PG_STATE"
}

# ============================================================================
# MariaDB
# ============================================================================

first_exe() {
  local c
  for c in "$@"; do
    if [[ "$c" == /* ]]; then
      [[ -x "$c" ]] && { printf '%s\n' "$c"; return 0; }
    elif have "$c"; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}
my_server_bin() { first_exe /usr/sbin/mariadbd mariadbd /usr/sbin/mysqld mysqld; }
my_installdb_bin() { first_exe mariadb-install-db mysql_install_db /usr/bin/mariadb-install-db /usr/bin/mysql_install_db; }
my_client_bin() { first_exe mariadb mysql; }
my_adminc_bin() { first_exe mariadb-admin mysqladmin; }

my_installed() {
  my_server_bin >/dev/null && my_installdb_bin >/dev/null && my_client_bin >/dev/null && my_adminc_bin >/dev/null
}

my_answers() {
  local admin
  if admin=$(my_adminc_bin); then
    # ping exits 0 whenever the server is up, even on "access denied"
    MYSQL_PWD=$DB_PASS "$admin" --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MY_PORT" --connect-timeout=3 -u "$DB_USER" ping >/dev/null 2>&1
  else
    tcp_open "$MY_PORT"
  fi
}

MY_ADMIN_SOCK=""
my_admin() {
  as_root "$(my_client_bin)" --no-defaults --protocol=socket --socket="$MY_ADMIN_SOCK" -u root "$@"
}
my_find_admin() {
  local s port
  can_priv && my_client_bin >/dev/null || return 1
  for s in "${MY_SOCKETS[@]}"; do
    [[ -S "$s" ]] || continue
    MY_ADMIN_SOCK=$s
    port=$(my_admin -N -B -e 'select @@port' 2>/dev/null) || continue
    [[ "$port" == "$MY_PORT" ]] && return 0
  done
  MY_ADMIN_SOCK=""
  return 1
}

my_user_login() {
  local client
  client=$(my_client_bin) || return 1
  MYSQL_PWD=$DB_PASS "$client" --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MY_PORT" --connect-timeout=5 \
    -u "$DB_USER" -N -B -e 'select 1' "$DB_NAME" >/dev/null 2>&1
}

my_datadir() {
  local d=""
  if have my_print_defaults; then
    d=$(my_print_defaults mysqld server mariadb mariadbd 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n 1)
  fi
  printf '%s\n' "${d:-/var/lib/mysql}"
}

MY_PID=""
my_start() {
  local server installdb datadir oldpid cfglog
  server=$(my_server_bin) || die "MariaDB server binary (mariadbd) not found"
  installdb=$(my_installdb_bin) || die "mariadb-install-db not found"
  datadir=$(my_datadir)
  id mysql >/dev/null 2>&1 || die "OS user 'mysql' is missing (the mariadb-server package creates it)"

  # A second server on the same data directory cannot start (InnoDB/Aria locks).
  oldpid=""
  if have pgrep; then
    oldpid=$(pgrep -x 'mariadbd|mysqld' | head -n 1 || true)
  elif [[ -f "$MY_PIDFILE" ]]; then
    oldpid=$(cat "$MY_PIDFILE" 2>/dev/null || true)
  fi
  if [[ -n "$oldpid" ]] && kill -0 "$oldpid" 2>/dev/null; then
    die "a MariaDB/MySQL server is already running (pid $oldpid: $(tr '\0' ' ' <"/proc/$oldpid/cmdline" 2>/dev/null | cut -c1-200)) but does not answer on 127.0.0.1:$MY_PORT. Stop it, or set SPARKPILOT_MYSQL_PORT to its port, or set SPARKPILOT_TEST_MYSQL_URL to use your own server."
  fi

  if ! as_root test -d "$datadir/mysql"; then
    log "initialising MariaDB data directory $datadir (log: $MY_LOG)"
    as_root install -d -o mysql -g mysql -m 750 "$datadir"
    printf '\n==== %s: %s ====\n' "$(date -Is)" "$installdb" >>"$MY_LOG"
    if ! as_root "$installdb" --user=mysql --datadir="$datadir" --skip-test-db >>"$MY_LOG" 2>&1 </dev/null 9>&-; then
      show_log_tail "$MY_LOG"
      die "mariadb-install-db failed for $datadir. Log: $MY_LOG."
    fi
  fi

  as_root install -d -o mysql -g mysql -m 755 /run/mysqld
  if have my_print_defaults && cfglog=$(my_print_defaults mysqld server mariadb mariadbd 2>/dev/null | sed -n 's/^--log[-_]error=//p' | tail -n 1) && [[ -n "$cfglog" ]]; then
    log "note: the MySQL config sets log_error=$cfglog, so the server's own messages go there, not to $MY_LOG"
  fi
  log "starting MariaDB on 127.0.0.1:$MY_PORT (data: $datadir, socket: $MY_SOCK, log: $MY_LOG)"
  printf '\n==== %s: %s (port %s) ====\n' "$(date -Is)" "$server" "$MY_PORT" >>"$MY_LOG"
  # No --log-error: the server logs to stderr, i.e. to the log file opened
  # here by us (the mysql user needs no access to the project directory).
  setsid "${SUDO[@]}" "$server" --user=mysql --datadir="$datadir" \
    --bind-address=127.0.0.1 --port="$MY_PORT" --socket="$MY_SOCK" --pid-file="$MY_PIDFILE" \
    >>"$MY_LOG" 2>&1 </dev/null 9>&- &
  MY_PID=$!
  disown "$MY_PID" 2>/dev/null || true
}

my_record_state() {
  local pid=""
  pid=$(my_admin -N -B -e 'select @@pid_file' 2>/dev/null | xargs -r cat 2>/dev/null) || true
  {
    printf 'socket=%q\n' "$MY_ADMIN_SOCK"
    printf 'port=%q\n' "$MY_PORT"
    printf 'pid=%q\n' "${pid:-$MY_PID}"
  } >"$MY_STATE"
}

my_ensure_db() {
  log "MariaDB: ensuring user $DB_USER and database $DB_NAME (grants on $DB_NAME and ${DB_NAME}_%)"
  local hosts=("localhost" "127.0.0.1" "::1" "%") h sql=""
  # `_` and `%` are wildcards in GRANT database names, hence the escapes.
  sql+="CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  for h in "${hosts[@]}"; do
    sql+="CREATE USER IF NOT EXISTS '$DB_USER'@'$h' IDENTIFIED BY '$DB_PASS';"
    sql+="ALTER USER '$DB_USER'@'$h' IDENTIFIED BY '$DB_PASS';"
    sql+="GRANT ALL PRIVILEGES ON \`${DB_NAME//_/\\_}\`.* TO '$DB_USER'@'$h';"
    sql+="GRANT ALL PRIVILEGES ON \`${DB_NAME//_/\\_}\\_%\`.* TO '$DB_USER'@'$h';"
  done
  my_admin -e "$sql"
}

my_up() {
  if [[ -n "$MY_EXTERNAL" ]]; then
    log "MariaDB: SPARKPILOT_TEST_MYSQL_URL is set, leaving MariaDB/MySQL to you"
    return 0
  fi
  local was_up=0
  my_answers && was_up=1

  if ((was_up)); then
    log "MariaDB answers on 127.0.0.1:$MY_PORT"
  else
    my_installed || die "internal: MariaDB should have been installed by now"
    if tcp_open "$MY_PORT"; then
      die "127.0.0.1:$MY_PORT is taken by a program that does not answer as MariaDB/MySQL. Stop it, or set SPARKPILOT_MYSQL_PORT to a free port, or set SPARKPILOT_TEST_MYSQL_URL to use your own server."
    fi
    my_start
    wait_until "MariaDB" "$MY_LOG" "$MY_PID" my_answers \
      "Fix what the log says, or set SPARKPILOT_MYSQL_PORT / SPARKPILOT_TEST_MYSQL_URL, then re-run '$0 up'."
    log "MariaDB answers on 127.0.0.1:$MY_PORT"
  fi

  if my_find_admin; then
    ((was_up)) || my_record_state
    my_ensure_db
  elif my_user_login; then
    log "warning: no root access to the MariaDB on port $MY_PORT (not root, or no local root socket); user $DB_USER can already log in to $DB_NAME, so using it as it is"
  else
    die "MariaDB/MySQL answers on 127.0.0.1:$MY_PORT, but this script cannot administer it (no root unix socket for that port) and $DB_USER cannot log in to $DB_NAME. Create them yourself (see docs/databases.md) and set SPARKPILOT_TEST_MYSQL_URL, or stop that server and re-run '$0 up'."
  fi

  my_user_login || die "MariaDB: $DB_USER still cannot log in to $MY_URL. Log: $MY_LOG."
}

my_down() {
  if [[ -n "$MY_EXTERNAL" ]]; then
    log "MariaDB: SPARKPILOT_TEST_MYSQL_URL is set, leaving MariaDB/MySQL to you"
    return 0
  fi
  if [[ ! -f "$MY_STATE" ]]; then
    if my_answers; then
      log "MariaDB on 127.0.0.1:$MY_PORT was not started by this checkout's 'up'; leaving it running"
    else
      log "MariaDB: not running"
    fi
    return 0
  fi
  local socket port pid
  # shellcheck disable=SC1090
  source "$MY_STATE"
  MY_PORT=$port
  if my_answers || { [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }; then
    log "stopping MariaDB (port $port)"
    printf '\n==== %s: shutdown ====\n' "$(date -Is)" >>"$MY_LOG"
    MY_ADMIN_SOCK=$socket
    if ! my_admin -e 'SHUTDOWN' >>"$MY_LOG" 2>&1; then
      if [[ -n "$pid" ]]; then as_root kill -TERM "$pid" 2>/dev/null || true; fi
    fi
    local deadline=$((SECONDS + TIMEOUT))
    while my_answers || { [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }; do
      if ((SECONDS >= deadline)); then
        show_log_tail "$MY_LOG"
        die "MariaDB (pid ${pid:-?}) did not stop within ${TIMEOUT}s. Log: $MY_LOG. Try: kill -KILL ${pid:-<pid>}"
      fi
      sleep 1
    done
  else
    log "MariaDB: not running"
  fi
  rm -f "$MY_STATE"
}

# ============================================================================
# commands
# ============================================================================

# fd 9 holds the lock: everything that may leave a process behind (servers,
# package scripts) is started with 9>&- so the lock dies with this script.
take_lock() {
  # Opened read-only once it exists (flock works on any fd), so that another
  # user can share a lock file root created in /tmp.
  [[ -e "$LOCK_FILE" ]] || { : >>"$LOCK_FILE"; } 2>/dev/null || true
  exec 9<"$LOCK_FILE" || die "cannot open the lock file $LOCK_FILE"
  if ! flock -w 900 9; then
    die "another 'db.sh' has held $LOCK_FILE for 15 minutes; is one stuck? (see its output, or remove the lock if no db.sh is running)"
  fi
}

cmd_up() {
  mkdir -p "$STATE_DIR"
  take_lock
  local pkgs=()
  if [[ -z "$PG_EXTERNAL" ]] && ! pg_installed; then pkgs+=(postgresql); fi
  if [[ -z "$MY_EXTERNAL" ]] && ! my_installed; then pkgs+=(mariadb-server mariadb-client); fi
  ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"

  pg_up
  my_up

  log "ready"
  printf 'SPARKPILOT_TEST_PG_URL=%s\n' "${PG_EXTERNAL:-$PG_URL}"
  printf 'SPARKPILOT_TEST_MYSQL_URL=%s\n' "${MY_EXTERNAL:-$MY_URL}"
}

cmd_down() {
  mkdir -p "$STATE_DIR"
  take_lock
  pg_down
  my_down
}

cmd_status() {
  local rc=0 extra
  if [[ -n "$PG_EXTERNAL" ]]; then
    echo "postgresql: not managed here (SPARKPILOT_TEST_PG_URL is set)"
  elif pg_answers; then
    extra=""
    if pg_user_login; then extra=", $DB_USER can log in to $DB_NAME"; else extra=", $DB_USER cannot log in to $DB_NAME (run '$0 up')"; fi
    [[ -f "$PG_STATE" ]] && extra+=", started by this checkout"
    echo "postgresql: answering on 127.0.0.1:$PG_PORT$extra"
  else
    echo "postgresql: not answering on 127.0.0.1:$PG_PORT"
    rc=3
  fi
  if [[ -n "$MY_EXTERNAL" ]]; then
    echo "mariadb: not managed here (SPARKPILOT_TEST_MYSQL_URL is set)"
  elif my_answers; then
    extra=""
    if my_user_login; then extra=", $DB_USER can log in to $DB_NAME"; else extra=", $DB_USER cannot log in to $DB_NAME (run '$0 up')"; fi
    [[ -f "$MY_STATE" ]] && extra+=", started by this checkout"
    echo "mariadb: answering on 127.0.0.1:$MY_PORT$extra"
  else
    echo "mariadb: not answering on 127.0.0.1:$MY_PORT"
    rc=3
  fi
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h | --help | help) usage 0 ;;
  *) usage 2 ;;
esac
