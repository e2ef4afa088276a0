# shellcheck shell=bash
# Sourced by run.sh and browser.sh: what both need.

# interop_expand_expect SPEC: a short expectation, the items of a deflate spec ("on", "scnt,cbits=9"), written
# out as zws_conn_extensions says it (window bits below 15 only, in this
# order); "none" and an already long one ("permessage-deflate...") as given.
interop_expand_expect() {
    local spec=$1 s= c= sb= cb= item items
    case $spec in none | permessage-deflate*) echo "$spec"; return 0 ;; esac
    IFS=, read -r -a items <<<"$spec"
    for item in "${items[@]}"; do
        case $item in
        on) ;;
        scnt) s="; server_no_context_takeover" ;;
        ccnt) c="; client_no_context_takeover" ;;
        sbits=*) if [ "${item#*=}" -lt 15 ]; then sb="; server_max_window_bits=${item#*=}"; fi ;;
        cbits=*) if [ "${item#*=}" -lt 15 ]; then cb="; client_max_window_bits=${item#*=}"; fi ;;
        *) echo "unknown expectation item '$item'" >&2; return 2 ;;
        esac
    done
    echo "permessage-deflate$s$c$sb$cb"
}

# interop_stop PID: SIGTERM to a child of this shell, SIGKILL if it is still
# there 5 s later; returns its exit status.
interop_stop() {
    local pid=$1 st=0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "${0##*/}: $pid ignored SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || st=$?
    return "$st"
}
