# Sourced by test.sh: installs the real servers and peers the tests start, only when missing.
# Debian packages with apt-get (as root), npm packages from the package-lock.json of tests/peers, tests/services, tests/oidc.

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  (( ${#missing[@]} == 0 )) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "prerequisites: missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  if (( apt_updated == 0 )); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    apt_updated=1
  fi
  echo "prerequisites: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

npm_install() {
  local dir="$1"
  [[ -f "$dir/package-lock.json" ]] || return 0
  if [[ -d "$dir/node_modules" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
    return 0
  fi
  command -v npm >/dev/null || apt_install nodejs npm || return 1
  echo "prerequisites: npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

install_prerequisites() {
  local debs=()
  # The third-party MLLP peers (tests/peers) run on Node; the TLS peer is `openssl s_client`.
  # Node may come from elsewhere than Debian (NodeSource bundles npm): ask only when a command is missing.
  command -v node >/dev/null || debs+=(nodejs)
  command -v npm >/dev/null || debs+=(npm)
  command -v openssl >/dev/null || debs+=(openssl)
  # The provider-compliance suite starts a real PostgreSQL (initdb + pg_ctl as user postgres).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || debs+=(postgresql)
  # The SFTP tests start a private OpenSSH sshd (SERVICES.md); no system service is used.
  [[ -x /usr/sbin/sshd ]] || debs+=(openssh-server)
  # The alert tests start a real SMTP server: Debian's aiosmtpd, run with Debian's /usr/bin/python3.
  [[ -d /usr/lib/python3/dist-packages/aiosmtpd ]] || debs+=(python3-aiosmtpd)
  # The metrics tests start a private Prometheus scraping the gateway, and check docs/alerts.example.yaml with promtool.
  command -v prometheus >/dev/null && command -v promtool >/dev/null || debs+=(prometheus)
  # The console's browser tests drive Debian's chromium through Playwright (never Playwright's own browser download).
  [[ -x /usr/bin/chromium ]] || debs+=(chromium)
  [[ ${#debs[@]} -gt 0 ]] && { apt_install "${debs[@]}" || return 1; }
  npm_install tests/peers || return 1       # simple-hl7: MLLP peers no one here wrote
  npm_install tests/services || return 1    # Azurite: Azure Blob Storage on loopback
  npm_install tests/oidc || return 1        # oidc-provider: the OpenID Connect provider of the console's sign-in tests
  return 0
}
