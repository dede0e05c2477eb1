#!/usr/bin/env bash
# Installs Chromium from the distribution's packages for the dashboard's browser test (no browser download from
# anywhere else). Debian: `chromium`; Ubuntu's is a snap wrapper, so there `chromium-browser` from apt is tried.
# Does nothing when a Chromium is already on the machine. Needs root (CI runs as root) or sudo.
set -euo pipefail
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [[ -x "$candidate" ]]; then echo "chromium: $candidate ($("$candidate" --version 2>/dev/null | tail -1))" >&2; exit 0; fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: installing Chromium needs root (apt-get install -y chromium)" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if apt-cache show chromium >/dev/null 2>&1; then
  $sudo apt-get install -y -qq chromium
else
  $sudo apt-get install -y -qq chromium-browser
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [[ -x "$candidate" ]]; then echo "chromium: $candidate ($("$candidate" --version 2>/dev/null | tail -1))" >&2; exit 0; fi
done
echo "error: Chromium was installed but no executable was found in /usr/bin" >&2
exit 1
