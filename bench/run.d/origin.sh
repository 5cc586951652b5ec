# Origin fetch (sourced by bench/run): time to first byte of a cache miss through the Fetcher
# (bench_origin_ttfb: fetch() + the first FetchHandle::read(), with the download spooled and
# hashed on the way) and through a running node's gateway (`thunder run` with [[origins]] name =
# "bench" pointing at nginx; GET /origin/bench/file?q=<unique> on a fresh connection) against the
# origin's own time to first byte (a plain blocking client on a fresh connection), all from the
# same process, with nginx from Debian (nginx-light) serving a 1 MiB file on loopback as the
# origin. Every request uses a new query string, so every fetch is a miss that goes to nginx (the
# tool checks the node's counters: one download and no cache hit per request). Median and p99 of
# ORIGIN_BENCH_COUNT (default 200) of each, interleaved; the run with the best median through the
# Fetcher of $repeat (BENCH_REPEAT) is kept. The issue's target for the node: ≤ 2× nginx's TTFB.
og_tool="$build/bench/bench_origin_ttfb"
og_thunder="$build/apps/thunder/thunder"
og_count=${ORIGIN_BENCH_COUNT:-200}
if ! command -v nginx >/dev/null || ! command -v curl >/dev/null || [ ! -x "$og_tool" ]; then
  echo "| origin fetch TTFB | skipped: needs nginx, curl (scripts/setup) and $og_tool | | |"
else
  og_dir="$tmp/origin"
  mkdir -p "$og_dir/www" "$og_dir/nginx/logs" "$og_dir/nginx/tmp"
  head -c $((1 << 20)) /dev/urandom > "$og_dir/www/file"

  source "$(dirname "${BASH_SOURCE[0]}")/../nginx.sh"
  bench_start_nginx "$og_dir" 1
  og_port=$nginx_port
  og_nginx=$nginx_pid
  trap 'kill $og_nginx 2>/dev/null; rm -rf "$tmp"' EXIT
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$og_port/file" && break
    sleep 0.1
  done
  og_url="http://127.0.0.1:$og_port/file"
  # The node: a fresh data dir whose config.toml names nginx as origin "bench".
  og_node_args=()
  og_node=""
  if [ -x "$og_thunder" ]; then
    mkdir -p "$og_dir/node"
    printf '[ledger]\nenabled = false\n\n[[origins]]\nname = "bench"\nurl = "http://127.0.0.1:%s/"\n' \
      "$og_port" > "$og_dir/node/config.toml"
    "$og_thunder" --data-dir "$og_dir/node" run --admin-listen 127.0.0.1:0 \
      --sessions-listen 127.0.0.1:0 --gateway-listen 127.0.0.1:0 --json \
      > "$og_dir/node.out" 2> "$og_dir/node.err" &
    og_node=$!
    trap 'kill $og_nginx $og_node 2>/dev/null; rm -rf "$tmp"' EXIT
    for _ in $(seq 100); do
      grep -q '"gateway"' "$og_dir/node.out" 2>/dev/null && break
      sleep 0.1
    done
    og_gateway=$(sed -n '1s/.*"gateway":"\([^"]*\)".*/\1/p' "$og_dir/node.out")
    og_admin=$(sed -n '1s/.*"admin":"\([^"]*\)".*/\1/p' "$og_dir/node.out")
    if [ -n "$og_gateway" ] && curl -s "$og_gateway/origin/bench/file?q=check" | cmp -s - "$og_dir/www/file"; then
      og_node_args=(--gateway "$og_gateway/origin/bench/file" --admin "$og_admin")
    fi
  fi
  if curl -s "$og_url" | cmp -s - "$og_dir/www/file"; then
    og_best=""
    og_best_median=""
    for og_run in $(seq "$repeat"); do
      rm -rf "$og_dir/store"
      if "$og_tool" --url "$og_url" --store "$og_dir/store" --count "$og_count" "${og_node_args[@]}" \
          > "$og_dir/run$og_run.out" 2> "$og_dir/run$og_run.err"; then
        og_median=$(awk '$1 == "fetcher" {print $3}' "$og_dir/run$og_run.out")
        if [ -z "$og_best" ] || awk -v a="$og_median" -v b="$og_best_median" 'BEGIN { exit !(a < b) }'; then
          og_best="$og_dir/run$og_run.out"
          og_best_median=$og_median
        fi
      fi
    done
    if [ -n "$og_best" ]; then
      og_field() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$og_best"; }
      og_ng_version=$(nginx -v 2>&1 | sed 's|.*nginx/||')
      echo "| origin fetch TTFB, cache miss through the Fetcher (1 MiB file), median of $og_count | $(og_field fetcher 3) ms | nginx $og_ng_version direct: $(og_field direct 3) ms | $(og_field ratio_median 2) (TTFB ratio Fetcher/direct; HttpOrigin alone: $(og_field origin 3) ms) |"
      echo "| origin fetch TTFB, p99 of $og_count | $(og_field fetcher 5) ms | nginx direct: $(og_field direct 5) ms | $(og_field ratio_median 4) (TTFB ratio Fetcher/direct; HttpOrigin alone: $(og_field origin 5) ms) |"
      if [ ${#og_node_args[@]} -gt 0 ]; then
        echo "| origin fetch TTFB, cache miss through a node's gateway GET /origin/<name>/file?q=<new> (1 MiB file), median of $og_count | $(og_field node 3) ms | nginx direct: $(og_field direct 3) ms | $(og_field ratio_node_median 2) (TTFB ratio node/direct; target ≤ 2) |"
        echo "| origin fetch TTFB through a node's gateway, p99 of $og_count | $(og_field node 5) ms | nginx direct: $(og_field direct 5) ms | $(og_field ratio_node_median 4) (TTFB ratio node/direct) |"
      else
        echo "| origin fetch TTFB through a node's gateway | skipped: $og_thunder did not start or serve /origin/ (see $og_dir/node.err) | | |"
      fi
    else
      echo "| origin fetch TTFB | failed: see $og_dir/run*.err | | |"
    fi
  else
    echo "| origin fetch TTFB | failed: nginx did not serve the test file (see $og_dir) | | |"
  fi
  kill "$og_nginx" $og_node 2>/dev/null || true
  wait "$og_nginx" $og_node 2>/dev/null || true
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$og_dir"
fi
