# Sessions (sourced by bench/run): time to first service byte, idle sessions held and one
# session's content stream, each against bare TLS 1.3 to the same in-process loopback node
# (bench_session_load). Environment: BENCH_TTFB_N (200), BENCH_IDLE_N (10000).
load="$build/bench/bench_session_load"
# field NAME: the value of "NAME: value" in $out.
field() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$out"; }

out=$("$load" ttfb "${BENCH_TTFB_N:-200}")
echo "| session time to first echo byte (median / p90 of ${BENCH_TTFB_N:-200}) | $(field session_ms_median) / $(field session_ms_p90) ms | bare TLS 1.3 connect + 1-byte echo: $(field bare_tls_ms_median) / $(field bare_tls_ms_p90) ms | +$(field diff_ms_median) ms (time ratio $(field ratio_median)) |"

rtt_ms=${BENCH_RTT_MS:-20}
out=$("$load" rtt "$((rtt_ms / 2))" "${BENCH_RTT_N:-20}")
echo "| session time to first echo byte at ${rtt_ms} ms RTT (relay; median of ${BENCH_RTT_N:-20}) | TLS/TCP: $(field session_tls_ms_median) ms ($(field session_tls_rtts) RTT)$( [ -n "$(field session_quic_ms_median)" ] && echo ", QUIC: $(field session_quic_ms_median) ms ($(field session_quic_rtts) RTT)") | bare TLS 1.3 connect + 1-byte echo: $(field bare_tls_ms_median) ms | QUIC saves $(field quic_saved_ms) ms |"

out=$("$load" stream "$size_mb" "$repeat")
echo "| one session streaming a ${size_mb} MiB blob (content service, verified) | $(field session_gbps) GB/s | bare TLS 1.3, same bytes: $(field bare_tls_gbps) GB/s | $(field ratio) |"

idle_n=${BENCH_IDLE_N:-10000}
out=$("$load" idle "$idle_n")
report=$(awk -F': ' '$1 == "client_report" { print $2 }' <<<"$out")
echo "| idle sessions held (requested ${idle_n}; clients in a second process) | $(field node_active_sessions) sessions, $(field node_bytes_per_session) B RSS each | node RSS $(field node_rss_before_mib) → $(field node_rss_after_mib) MiB | clients: ${report} |"
