# Shell helpers for the benchmarks that measure against nginx (sourced by bench/run.d/*.sh).

# A free TCP port on 127.0.0.1 (a random high port if python3 is missing).
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 30000))
}

# bench_start_nginx DIR WORKERS: nginx serving DIR/www on a free loopback port, its config, logs
# and temp files under DIR/nginx; sets $nginx_port and $nginx_pid (the caller stops it).
bench_start_nginx() {
  local dir=$1 workers=$2 user=""
  mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
  [ "$(id -u)" = 0 ] && user="user root;"
  nginx_port=$(bench_free_port)
  cat > "$dir/nginx/nginx.conf" <<NGINX
$user
worker_processes $workers;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path $dir/nginx/tmp/body;
  proxy_temp_path $dir/nginx/tmp/proxy;
  fastcgi_temp_path $dir/nginx/tmp/fastcgi;
  uwsgi_temp_path $dir/nginx/tmp/uwsgi;
  scgi_temp_path $dir/nginx/tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$nginx_port; root $dir/www; }
}
NGINX
  nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" > "$dir/nginx/out" 2>&1 &
  nginx_pid=$!
}
