# shellcheck shell=bash
# What the DHCPv4 benchmarks share (sourced after testbed.sh, which gives tb_cli, tb_die,
# tb_log and TB_DIR): our library, built when missing; one perfdhcp run against the
# testbed; medians; the table of DORA/s per round and cell.
#
#   bench_ours_lib                 sets ours_lib: OURS_LIB, else $CARGO_TARGET_DIR (or
#                                  target/) + release/libkea_runscript.so, built if missing
#   bench_perfdhcp4 WHAT ARGS...   perfdhcp -4 -l <client veth> ARGS; its output in
#                                  bench_out, its rate of completed DORAs in bench_dora;
#                                  dies (naming WHAT) on a failure or a run without a rate
#   bench_median                   the median of the numbers on stdin
#   bench_table COLUMN_WIDTH CELL...  per round the DORA/s of each cell (column 3 of
#                                  $TB_DIR/results: "cell round dora/s …"), then the medians,
#                                  which it also leaves in the array med; names the columns
#                                  with the array label (cell → text)

bench_ours_lib() {
    ours_lib=${OURS_LIB:-${CARGO_TARGET_DIR:-$repo/target}/release/libkea_runscript.so}
    if [ ! -f "$ours_lib" ] && [ -z "${OURS_LIB:-}" ]; then
        tb_log "building libkea_runscript.so (cargo build --release -p kea-runscript-hook)"
        cargo build --release -j2 -p kea-runscript-hook >&2 || tb_die "building kea-runscript-hook failed"
    fi
    [ -f "$ours_lib" ] || tb_die "our library not found at $ours_lib (build it, or set OURS_LIB)"
}

bench_perfdhcp4() {
    local what=$1 rc=0
    shift
    bench_out=$(tb_cli perfdhcp -4 -l "$TB_VCLI" "$@" 2>&1) || rc=$?
    # 3 = "some exchanges not completed": expected when offering more than Kea answers.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        echo "$bench_out" | tail -n 20 >&2
        tb_die "perfdhcp failed with exit code $rc ($what)"
    fi
    bench_dora=$(echo "$bench_out" | awk '/^Rate:/ {print $2; exit}')
    [ -n "$bench_dora" ] || { echo "$bench_out" | tail -n 20 >&2; tb_die "no 'Rate:' line in perfdhcp's output ($what)"; }
}

bench_median() {
    sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

bench_table() {
    local width=$1 r v
    shift
    printf '%-8s' round
    for v in "$@"; do printf " %${width}s" "${label[$v]}"; done
    echo
    for r in $(awk '{print $2}' "$TB_DIR/results" | sort -un); do
        printf '%-8s' "$r"
        for v in "$@"; do
            printf " %${width}.1f" "$(awk -v v="$v" -v r="$r" '$1 == v && $2 == r {print $3}' "$TB_DIR/results")"
        done
        echo
    done
    declare -gA med
    for v in "$@"; do med[$v]=$(awk -v v="$v" '$1 == v {print $3}' "$TB_DIR/results" | bench_median); done
    printf '%-8s' median
    for v in "$@"; do printf " %${width}.1f" "${med[$v]}"; done
    echo
}
