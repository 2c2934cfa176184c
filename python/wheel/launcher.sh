#!/bin/sh
# The wheel's gradtrace (installed as gradtrace/_bin/gradtrace): runs the executable in gradtrace/_libexec with
# the wheel's own Graphviz layout plugin (GVBINDIR) and fonts (FONTCONFIG_FILE), never the system's.
here=$(dirname "$(readlink -f "$0")")/..
GVBINDIR="$here/_graphviz" FONTCONFIG_FILE="$here/_fonts/fonts.conf" exec "$here/_libexec/gradtrace" "$@"
