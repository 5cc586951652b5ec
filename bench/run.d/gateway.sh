# HTTP gateway (sourced by bench/run): the gateway (bench_gateway: a temp blob store serving
# GET /b3/<id>) against nginx from Debian serving the same files from disk, both on loopback,
# both with 2 worker threads/processes, measured by wrk on the same machine (which shares the
# cores with the servers). Each measurement is GATEWAY_BENCH_SECONDS (default 10) long and is
# repeated $repeat times (BENCH_REPEAT), nginx and the gateway alternating; the best of each is
# kept (the most requests/s, the lowest p99), as the other benchmarks keep the fastest run.
gw_tool="$build/bench/bench_gateway"
gw_seconds=${GATEWAY_BENCH_SECONDS:-10}
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || [ ! -x "$gw_tool" ]; then
  echo "| HTTP gateway vs nginx | skipped: needs nginx, wrk (scripts/setup) and $gw_tool | | |"
else
  gw_dir="$tmp/gateway"
  mkdir -p "$gw_dir/www" "$gw_dir/nginx/logs" "$gw_dir/nginx/tmp"
  head -c 4096 /dev/urandom > "$gw_dir/www/small"
  head -c $((64 << 20)) /dev/urandom > "$gw_dir/www/large"

  # wrk's "99%  1.23ms" in milliseconds.
  gw_ms() {
    awk -v v="$1" 'BEGIN {
      n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
      printf "%.2f", n }'
  }
  gw_wrk() {  # URL CONNECTIONS -> "requests/s p99_ms"
    wrk -t2 -c"$2" -d"${gw_seconds}s" --latency "$1" > "$gw_dir/wrk.out" 2>&1 || true
    local rps p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$gw_dir/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$gw_dir/wrk.out")
    echo "${rps:-0} $(gw_ms "${p99:-0ms}")"
  }

  source "$(dirname "${BASH_SOURCE[0]}")/../nginx.sh"
  bench_start_nginx "$gw_dir" 2
  "$gw_tool" --store "$gw_dir/store" --loops 2 "$gw_dir/www/small" "$gw_dir/www/large" \
    > "$gw_dir/gateway.out" 2> "$gw_dir/gateway.err" &
  gw_pid=$!
  trap 'kill $nginx_pid $gw_pid 2>/dev/null; rm -rf "$tmp"' EXIT
  for _ in $(seq 100); do
    grep -q "www/large" "$gw_dir/gateway.out" 2>/dev/null &&
      curl -s -o /dev/null "http://127.0.0.1:$nginx_port/small" && break
    sleep 0.1
  done
  gw_url=$(awk '$1 == "url" {print $2}' "$gw_dir/gateway.out")
  gw_small="$gw_url/b3/$(awk '/www\/small$/ {print $1}' "$gw_dir/gateway.out")"
  gw_large="$gw_url/b3/$(awk '/www\/large$/ {print $1}' "$gw_dir/gateway.out")"
  ng_small="http://127.0.0.1:$nginx_port/small"
  ng_large="http://127.0.0.1:$nginx_port/large"
  # Both must serve the right bytes before they are timed.
  if curl -s "$gw_small" | cmp -s - "$gw_dir/www/small" && curl -s "$ng_small" | cmp -s - "$gw_dir/www/small"; then
    gw_best() {  # VAR VALUE max|min: keeps the better of $VAR and VALUE
      local current=${!1:-}
      if [ -z "$current" ] || awk -v a="$2" -v b="$current" -v m="$3" \
          'BEGIN { exit !((m == "max" && a > b) || (m == "min" && a < b)) }'; then
        printf -v "$1" '%s' "$2"
      fi
    }
    ng_rps="" ng_p99="" gw_rps="" gw_p99="" ng_large_rps="" gw_large_rps=""
    for _ in $(seq "$repeat"); do
      read -r gw_r gw_p <<< "$(gw_wrk "$ng_small" 64)"
      gw_best ng_rps "$gw_r" max; gw_best ng_p99 "$gw_p" min
      read -r gw_r gw_p <<< "$(gw_wrk "$gw_small" 64)"
      gw_best gw_rps "$gw_r" max; gw_best gw_p99 "$gw_p" min
      read -r gw_r _ <<< "$(gw_wrk "$ng_large" 8)"
      gw_best ng_large_rps "$gw_r" max
      read -r gw_r _ <<< "$(gw_wrk "$gw_large" 8)"
      gw_best gw_large_rps "$gw_r" max
    done
    gw_gbps() { awk -v r="$1" 'BEGIN { printf "%.2f", r * 67108864 / 1e9 }'; }
    ng_version=$(nginx -v 2>&1 | sed 's|.*nginx/||')
    echo "| HTTP GET 4 KiB, wrk -t2 -c64, best of $repeat × ${gw_seconds} s | $(printf '%.0f' "$gw_rps") req/s | nginx $ng_version: $(printf '%.0f' "$ng_rps") req/s | $(ratio "$gw_rps" "$ng_rps") |"
    echo "| HTTP GET 4 KiB, p99 latency | $gw_p99 ms | nginx: $ng_p99 ms | $(ratio "$ng_p99" "$gw_p99") (latency ratio Thunder/nginx: $(ratio "$gw_p99" "$ng_p99")) |"
    echo "| HTTP GET 64 MiB, wrk -t2 -c8, best of $repeat × ${gw_seconds} s | $(gw_gbps "$gw_large_rps") GB/s | nginx: $(gw_gbps "$ng_large_rps") GB/s | $(ratio "$gw_large_rps" "$ng_large_rps") |"
  else
    echo "| HTTP gateway vs nginx | failed: a server did not serve the test file (see $gw_dir) | | |"
  fi
  kill "$nginx_pid" "$gw_pid" 2>/dev/null || true
  wait "$nginx_pid" "$gw_pid" 2>/dev/null || true
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$gw_dir"
fi
