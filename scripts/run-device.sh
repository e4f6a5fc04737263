#!/bin/sh
# The first set-up command of the README: installs what is missing, builds sepia and the
# reference guest (as Android images), and launches one device on it with launch_cvd, as a
# Cuttlefish user would: it returns once the guest has booted, shows the device with
# cvd_status, and says how to reach its console and how to stop it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
make guest guest-android
./launch_cvd --daemon --console --memory_mb=512
./cvd_status --print
cat <<MSG
run-device: the device runs. Its shell is on the pty $HOME/cuttlefish_runtime/console
  (e.g. screen $HOME/cuttlefish_runtime/console, or python3 tests/e2e/console-run.py
  $HOME/cuttlefish_runtime/console 30 'uname -a'); its logs are in
  $HOME/cuttlefish_runtime/logs/. Stop it with: ./stop_cvd
MSG
