# Origin fetch (sourced by bench/run): time to first byte of a cache miss through the Fetcher
# (bench_origin_ttfb: fetch() + the first FetchHandle::read(), with the download spooled and
# hashed on the way) against the origin's own time to first byte (a plain blocking client on a
# fresh connection), both from the same process, with nginx from Debian (nginx-light) serving a
# 1 MiB file on loopback as the origin. Every request uses a new query string, so every fetch is
# a miss that goes to nginx. Median and p99 of ORIGIN_BENCH_COUNT (default 200) of each,
# interleaved; the run with the best median of $repeat (BENCH_REPEAT) is kept.
og_tool="$build/bench/bench_origin_ttfb"
og_count=${ORIGIN_BENCH_COUNT:-200}
if ! command -v nginx >/dev/null || ! command -v curl >/dev/null || [ ! -x "$og_tool" ]; then
  echo "| origin fetch TTFB | skipped: needs nginx, curl (scripts/setup) and $og_tool | | |"
else
  og_dir="$tmp/origin"
  mkdir -p "$og_dir/www" "$og_dir/nginx/logs" "$og_dir/nginx/tmp"
  head -c $((1 << 20)) /dev/urandom > "$og_dir/www/file"

  og_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 30000)))
  og_user=""
  [ "$(id -u)" = 0 ] && og_user="user root;"
  cat > "$og_dir/nginx/nginx.conf" <<NGINX
$og_user
worker_processes 1;
daemon off;
pid $og_dir/nginx/nginx.pid;
error_log $og_dir/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path $og_dir/nginx/tmp/body;
  proxy_temp_path $og_dir/nginx/tmp/proxy;
  fastcgi_temp_path $og_dir/nginx/tmp/fastcgi;
  uwsgi_temp_path $og_dir/nginx/tmp/uwsgi;
  scgi_temp_path $og_dir/nginx/tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$og_port; root $og_dir/www; }
}
NGINX
  nginx -c "$og_dir/nginx/nginx.conf" -p "$og_dir/nginx" > "$og_dir/nginx/out" 2>&1 &
  og_nginx=$!
  trap 'kill $og_nginx 2>/dev/null; rm -rf "$tmp"' EXIT
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$og_port/file" && break
    sleep 0.1
  done
  og_url="http://127.0.0.1:$og_port/file"
  if curl -s "$og_url" | cmp -s - "$og_dir/www/file"; then
    og_best=""
    og_best_median=""
    for og_run in $(seq "$repeat"); do
      rm -rf "$og_dir/store"
      if "$og_tool" --url "$og_url" --store "$og_dir/store" --count "$og_count" \
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
    else
      echo "| origin fetch TTFB | failed: see $og_dir/run*.err | | |"
    fi
  else
    echo "| origin fetch TTFB | failed: nginx did not serve the test file (see $og_dir) | | |"
  fi
  kill "$og_nginx" 2>/dev/null || true
  wait "$og_nginx" 2>/dev/null || true
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$og_dir"
fi
