# Sourced by the scripts that need Python packages: `ensure_venv NAME VENV REQUIREMENTS`
# makes (or reuses, while the pins are unchanged) a virtualenv outside the clone and installs
# the pinned packages. Where python3, its venv module or the package index is missing it
# prints "NAME: SKIPPED: reason" and exits 0; a reachable index that fails to install fails.

ensure_venv() {
    local name=$1 venv=$2 req=$3
    skip() {
        echo "$name: SKIPPED: $*"
        exit 0
    }
    command -v python3 >/dev/null || skip "python3 not found"
    python3 -c 'import venv, ensurepip' 2>/dev/null || skip "python3 has no venv/ensurepip module (apt-get install python3-venv)"
    local want stamp
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    stamp="$venv/.simcash-requirements"
    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        echo "$name: reusing the virtualenv $venv"
        return
    fi
    echo "$name: creating the virtualenv $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || skip "python3 -m venv failed"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"; then
        # Unreachable index: skip. Reachable but the install failed: a real failure.
        if ! "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --timeout 15 --retries 1 \
                -d "$(mktemp -d)" six >/dev/null 2>&1; then
            rm -rf "$venv"
            skip "the Python package index cannot be reached"
        fi
        echo "$name: FAILED: pip could not install $req"
        exit 1
    fi
    echo "$want" >"$stamp"
}
