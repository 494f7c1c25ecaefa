# Shared by ops/test, ops/demo and the other ops scripts. Source it; it defines functions only.

eg_say() { printf '[%s] %s\n' "${EG_SCRIPT:-ops}" "$*" >&2; }
eg_die() { printf '[%s] error: %s\n' "${EG_SCRIPT:-ops}" "$*" >&2; exit 1; }

# eg_ensure_packages DEB:COMMAND_OR_FILE...
# Installs each Debian package whose probe (a command on PATH, or an absolute file) is missing.
# As non-root it prints the exact apt-get command and stops.
eg_ensure_packages() {
    local missing=() spec pkg probe
    for spec in "$@"; do
        pkg=${spec%%:*}
        probe=${spec#*:}
        if [[ $probe == /* ]]; then [[ -e $probe ]] && continue; else command -v "$probe" >/dev/null 2>&1 && continue; fi
        missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    eg_apt_install "${missing[@]}"
}

# eg_apt_install DEB...
# Installs the Debian packages with apt-get (refreshing the package lists once if that fails).
# As non-root it prints the exact apt-get command and stops.
eg_apt_install() {
    local cmd="apt-get install -y --no-install-recommends $*"
    if [[ $(id -u) -ne 0 ]]; then
        eg_die "missing packages: $*. Install them as root with: sudo $cmd"
    fi
    eg_say "installing missing packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! $cmd >/tmp/eg-apt.log 2>&1; then
        eg_say "apt-get install failed; refreshing the package lists (apt-get update) and retrying"
        apt-get update >>/tmp/eg-apt.log 2>&1 || eg_die "apt-get update failed; see /tmp/eg-apt.log"
        $cmd >>/tmp/eg-apt.log 2>&1 || eg_die "$cmd failed; see /tmp/eg-apt.log"
    fi
    eg_say "installed: $*"
}

# eg_offer_packages DEB:COMMAND_OR_FILE...
# Like eg_ensure_packages for packages that only enable some tests: as root it installs them; as
# non-root, or when apt fails, it says which tests will be skipped and carries on.
eg_offer_packages() {
    local missing=() spec pkg probe
    for spec in "$@"; do
        pkg=${spec%%:*}
        probe=${spec#*:}
        if [[ $probe == /* ]]; then [[ -e $probe ]] && continue; else command -v "$probe" >/dev/null 2>&1 && continue; fi
        missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -ne 0 ]]; then
        eg_say "optional packages missing: ${missing[*]}; the tests that need them will say they were skipped"
        return 0
    fi
    ( eg_ensure_packages "$@" ) || eg_say "could not install ${missing[*]}; the tests that need them will say they were skipped"
}

# The packages every build and run needs: hiredis and libcrypto headers, the Redis server and its
# CLI, pkg-config, and python3 (benchmarks compare against its csv module).
eg_ensure_base_packages() {
    eg_ensure_packages libhiredis-dev:/usr/include/hiredis/hiredis.h libssl-dev:/usr/include/openssl/evp.h \
        redis-server:redis-server redis-tools:redis-cli pkg-config:pkg-config python3:python3
}

# eg_start_redis [extra redis-server args...]
# Starts a private redis-server on a free loopback port in its own temporary directory.
# Sets EG_REDIS_PID, EG_REDIS_PORT, EG_REDIS_DIR and EG_REDIS_URL. Stop it with eg_stop_redis.
eg_start_redis() {
    EG_REDIS_DIR=$(mktemp -d -t exportgrid-redis.XXXXXX)
    local attempt port
    for attempt in $(seq 1 20); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        # Skip ports something already answers on.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
        redis-server --port "$port" --bind 127.0.0.1 --dir "$EG_REDIS_DIR" --save '' --appendonly no \
            --daemonize no --logfile "$EG_REDIS_DIR/redis.log" "$@" &
        EG_REDIS_PID=$!
        local i
        for i in $(seq 1 100); do
            if redis-cli -p "$port" ping >/dev/null 2>&1; then
                EG_REDIS_PORT=$port
                EG_REDIS_URL="redis://127.0.0.1:$port"
                export EG_REDIS_PID EG_REDIS_PORT EG_REDIS_DIR EG_REDIS_URL
                return 0
            fi
            kill -0 "$EG_REDIS_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill "$EG_REDIS_PID" 2>/dev/null || true
        wait "$EG_REDIS_PID" 2>/dev/null || true
    done
    eg_die "could not start redis-server on a free port; see $EG_REDIS_DIR/redis.log"
}

eg_stop_redis() {
    if [[ -n ${EG_REDIS_PID:-} ]] && kill -0 "$EG_REDIS_PID" 2>/dev/null; then
        kill "$EG_REDIS_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do kill -0 "$EG_REDIS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$EG_REDIS_PID" 2>/dev/null || true
        wait "$EG_REDIS_PID" 2>/dev/null || true
    fi
    [[ -n ${EG_REDIS_DIR:-} && -d $EG_REDIS_DIR ]] && rm -rf "$EG_REDIS_DIR"
    EG_REDIS_PID=
}

# The reference packages that tests and benchmarks compare against, pinned.
EG_PYTHON_PACKAGES=(matching==1.4.3)

# eg_python_venv
# Makes .venv (python3 -m venv) with EG_PYTHON_PACKAGES, or reuses it when they are already
# there; sets EG_PYTHON to its interpreter. Installs Debian's python3-venv first when python3
# cannot make a virtual environment.
eg_python_venv() {
    EG_PYTHON=$PWD/.venv/bin/python
    local probe="import matching"
    if [[ -x $EG_PYTHON ]] && "$EG_PYTHON" -c "$probe" 2>/dev/null; then return 0; fi
    python3 -c 'import ensurepip, venv' 2>/dev/null || eg_apt_install python3-venv
    eg_say "making the Python virtual environment .venv with ${EG_PYTHON_PACKAGES[*]}"
    python3 -m venv .venv >/tmp/eg-venv.log 2>&1 || eg_die "python3 -m venv .venv failed; see /tmp/eg-venv.log"
    "$EG_PYTHON" -m pip install --disable-pip-version-check -q "${EG_PYTHON_PACKAGES[@]}" >>/tmp/eg-venv.log 2>&1 ||
        eg_die "pip install ${EG_PYTHON_PACKAGES[*]} into .venv failed (it needs PyPI); see /tmp/eg-venv.log"
    "$EG_PYTHON" -c "$probe" || eg_die ".venv was made but cannot import its packages; remove .venv and retry"
}
