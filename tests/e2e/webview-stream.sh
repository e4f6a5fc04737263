#!/bin/sh
# sepia-webview's WebSocket: frames out as changed rectangles, input in as the exact
# virtio_input_event records on the instance's input sockets (fake devices listen there; no
# VMM needed), and hostile clients (tests/e2e/webview-stream.py says which). TAP; exit 77
# without the programs or python3's PIL.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/require.sh"
require_webview_tools
. "$top_srcdir/tests/e2e/display-lib.sh"
find_pil_python
exec "$PY" "$top_srcdir/tests/e2e/webview-stream.py" "$WEBVIEW"
