// The C API (thunder/sdk/thunder_sdk.h) over the C++ Service.
//
// A Core owns the Service and the I/O thread that runs its loop. A pump coroutine on the loop
// accept()s connections and queues them as handles for thunder_service_accept(). Every blocking
// call co_spawns its work onto the loop and waits for the result. A connection's Connection is
// touched on the loop thread only; its handle keeps a copy of the header for the getters. After
// Service::run() returns (the node closed the control channel and the drain ended) the thread
// keeps running the loop, so late calls fail fast instead of hanging, until
// thunder_service_close() stops it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "impl/connection_impl.h"
#include "ipc/codec.h"
#include "thunder/sdk/service.h"
#include "thunder/sdk/thunder_sdk.h"

namespace asio = boost::asio;
using thunder::Error;
using thunder::ErrorCode;
using thunder::fail;
using thunder::Result;
using thunder::sdk::Bytes;
using thunder::sdk::Connection;
using thunder::sdk::ConnectionInfo;
using thunder::sdk::Service;

namespace {

thread_local std::string t_last_error;

int report(const Error& error) {
  t_last_error = error.message;
  return thunder::ipc::errorCodeToWire(error.code);
}

struct Core;

}  // namespace

struct thunder_connection {
  std::shared_ptr<Core> core;
  ConnectionInfo info;  // copy of the header, for getters on any thread
  std::string client_key_hex;
  Bytes read_buffer;
  // Loop thread only:
  std::unique_ptr<Connection> connection;
  int ops = 0;          // calls running on the loop
  bool zombie = false;  // aborted by thunder_service_close; destroy when ops reaches 0
};

namespace {

struct Core : std::enable_shared_from_this<Core> {
  explicit Core(std::unique_ptr<Service> s)
      : service(std::move(s)), guard(asio::make_work_guard(service->context())) {}

  std::unique_ptr<Service> service;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<thunder_connection*> accepted;  // guarded by mu; owned until accepted
  bool accept_done = false;                  // guarded by mu
  std::optional<Error> accept_error;         // guarded by mu
  bool run_done = false;                     // guarded by mu
  bool closing = false;                      // guarded by mu
  bool loop_alive = true;                    // guarded by mu

  std::set<thunder_connection*> handles;  // loop thread only: every handle with a connection
};

// Runs op() (returning awaitable<Result<T>>) on the loop and waits for its result.
template <typename T, typename Op>
Result<T> callOnLoop(Core& core, Op op) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(core.mu);
    if (!core.loop_alive) {
      return fail(ErrorCode::kUnavailable, "sdk: the service has been closed");
    }
    asio::co_spawn(
        core.service->context(), std::move(op),
        [promise](std::exception_ptr error, Result<T> result) {
          if (error) {
            promise->set_value(fail(ErrorCode::kInternal, "sdk: an exception escaped an SDK call"));
          } else {
            promise->set_value(std::move(result));
          }
        });
  }
  try {
    return future.get();
  } catch (const std::future_error&) {
    return fail(ErrorCode::kUnavailable, "sdk: the service was closed during the call");
  }
}

// Runs f(Connection&) (returning awaitable<Result<T>>) on the loop for handle `h`.
template <typename T, typename F>
Result<T> connectionCall(thunder_connection* h, F f) {
  auto op = [h, f = std::move(f)]() -> asio::awaitable<Result<T>> {
    if (!h->connection) {
      co_return fail(ErrorCode::kUnavailable, "sdk: the service of this connection was closed");
    }
    ++h->ops;
    Result<T> result = co_await f(*h->connection);
    --h->ops;
    if (h->zombie && h->ops == 0) h->connection.reset();
    co_return result;
  };
  return callOnLoop<T>(*h->core, std::move(op));
}

asio::awaitable<void> acceptPump(Core* core) {
  for (;;) {
    auto next = co_await core->service->accept();
    std::lock_guard lock(core->mu);
    if (!next) {
      core->accept_done = true;
      if (next.error().code != ErrorCode::kUnavailable) core->accept_error = next.error();
      core->cv.notify_all();
      co_return;
    }
    if (core->closing) continue;  // destroyed here: ends normally
    auto* h = new thunder_connection;
    h->core = core->shared_from_this();
    h->info = (*next)->info();
    h->client_key_hex = h->info.clientKeyHex();
    h->connection = std::move(*next);
    core->handles.insert(h);
    core->accepted.push_back(h);
    core->cv.notify_all();
  }
}

const ConnectionInfo& info(const thunder_connection* c) {
  return c->info;
}

thunder::BlobId blobFrom(const uint8_t bytes[32]) {
  return thunder::BlobId(std::span<const uint8_t, 32>(bytes, 32));
}

}  // namespace

struct thunder_service {
  std::shared_ptr<Core> core;
};

namespace {

// Starts the I/O thread of a new service handle.
int start(Result<std::unique_ptr<Service>> service, thunder_service** out) {
  if (!service) return report(service.error());
  auto core = std::make_shared<Core>(std::move(*service));
  asio::co_spawn(core->service->context(), acceptPump(core.get()), asio::detached);
  Core* raw = core.get();
  core->thread = std::thread([raw] {
    (void)raw->service->run();  // a control channel error was reported by accept()
    {
      std::lock_guard lock(raw->mu);
      raw->run_done = true;
    }
    raw->cv.notify_all();
    // Keep serving late calls (they fail fast) until thunder_service_close().
    raw->service->context().restart();
    raw->service->context().run();
  });
  *out = new thunder_service{std::move(core)};
  return THUNDER_OK;
}

// Coroutines behind the C functions (GCC 12 mangles lambda coroutines inside extern "C"
// functions to clashing names, so they are plain functions here).

asio::awaitable<Result<void>> logOp(Core* core, int level, std::string text) {
  co_return co_await core->service->log(static_cast<thunder::sdk::LogLevel>(level), text);
}

asio::awaitable<Result<void>> metricOp(Core* core, thunder::sdk::MetricSample sample) {
  const std::span<const thunder::sdk::MetricSample> samples(&sample, 1);
  co_return co_await core->service->metrics(samples);
}

asio::awaitable<Result<void>> closeConnectionOp(Core* core, thunder_connection* c) {
  core->handles.erase(c);
  if (c->connection) {
    if (c->ops == 0) {
      (void)co_await c->connection->end(thunder::sdk::EndReason::kNormal);
      c->connection.reset();
    } else {
      c->connection->impl().abort();  // another thread is still using it: a misuse
      c->zombie = true;
    }
  }
  co_return Result<void>{};
}

// Ends every connection and stops the service (thunder_service_close).
asio::awaitable<Result<void>> shutOp(Core* raw) {
  std::deque<thunder_connection*> unaccepted;
  {
    std::lock_guard lock(raw->mu);
    unaccepted.swap(raw->accepted);
  }
  for (thunder_connection* h : unaccepted) {
    raw->handles.erase(h);
    delete h;  // its Connection ends normally
  }
  for (thunder_connection* h : raw->handles) {
    if (!h->connection) continue;
    h->connection->impl().abort();
    if (h->ops == 0) {
      h->connection.reset();
    } else {
      h->zombie = true;
    }
  }
  raw->service->stop();
  co_return Result<void>{};
}

}  // namespace

extern "C" {

const char* thunder_last_error(void) {
  return t_last_error.c_str();
}

const char* thunder_status_name(int status) {
  if (status == THUNDER_OK) return "ok";
  if (status == THUNDER_END) return "end";
  if (status < 0 || status > 0xffff) return "unknown";
  auto code = thunder::ipc::errorCodeFromWire(static_cast<uint16_t>(status));
  if (!code) return "unknown";
  return thunder::errorCodeName(*code).data();  // the names are string literals
}

int thunder_service_open(thunder_service** out) {
  return start(Service::fromEnvironment(), out);
}

int thunder_service_open_fd(int control_fd, thunder_service** out) {
  return start(Service::fromFd(control_fd), out);
}

void thunder_service_close(thunder_service* service) {
  if (service == nullptr) return;
  std::shared_ptr<Core> core = std::move(service->core);
  delete service;
  {
    std::lock_guard lock(core->mu);
    core->closing = true;
  }
  core->cv.notify_all();
  Core* raw = core.get();
  auto shut = [raw] { return shutOp(raw); };
  (void)callOnLoop<void>(*core, std::move(shut));
  {
    std::unique_lock lock(core->mu);
    core->cv.wait(lock, [&] { return core->run_done; });
    core->loop_alive = false;
    asio::post(core->service->context(), [raw] {
      raw->guard.reset();
      raw->service->context().stop();
    });
  }
  core->thread.join();
  core->service.reset();  // after the loop: destroys what is left on it
}

int thunder_service_accept(thunder_service* service, thunder_connection** out) {
  Core& core = *service->core;
  std::unique_lock lock(core.mu);
  core.cv.wait(lock, [&] { return !core.accepted.empty() || core.accept_done || core.closing; });
  if (!core.accepted.empty()) {
    *out = core.accepted.front();
    core.accepted.pop_front();
    return THUNDER_OK;
  }
  if (core.closing) return report(Error{ErrorCode::kUnavailable, "sdk: the service is closing"});
  if (core.accept_error) return report(*core.accept_error);
  t_last_error = "the node closed the control channel";
  return THUNDER_END;
}

// ---- node calls

int thunder_get_node_info(thunder_service* service, thunder_node_info* out) {
  Core* core = service->core.get();
  auto op = [core] { return core->service->nodeInfo(); };
  auto info = callOnLoop<thunder::sdk::NodeInfo>(*core, std::move(op));
  if (!info) return report(info.error());
  std::memcpy(out->node_key, info->node_key.data(), 32);
  out->service_id = info->service_id;
  const size_t n = std::min(info->node_version.size(), sizeof(out->node_version) - 1);
  std::memcpy(out->node_version, info->node_version.data(), n);
  out->node_version[n] = '\0';
  return THUNDER_OK;
}

int thunder_log(thunder_service* service, int level, const char* message) {
  if (level < THUNDER_LOG_TRACE || level > THUNDER_LOG_ERROR || message == nullptr) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_log: bad level or NULL message"});
  }
  Core* core = service->core.get();
  std::string text(message);
  auto op = [core, level, text = std::move(text)] { return logOp(core, level, text); };
  auto done = callOnLoop<void>(*core, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

int thunder_open_blob(thunder_service* service, const uint8_t blob[32], uint64_t offset,
                      uint64_t length, thunder_opened_blob* out) {
  Core* core = service->core.get();
  const thunder::BlobId id = blobFrom(blob);
  auto op = [core, id, offset, length] { return core->service->openBlob(id, offset, length); };
  auto opened = callOnLoop<thunder::sdk::OpenedBlob>(*core, std::move(op));
  if (!opened) return report(opened.error());
  out->fd = opened->fd.release();
  out->blob_size = opened->blob_size;
  out->offset = opened->offset;
  out->length = opened->length;
  return THUNDER_OK;
}

int thunder_put_blob(thunder_service* service, int fd, uint64_t size, uint8_t blob_out[32]) {
  Core* core = service->core.get();
  auto op = [core, fd, size] { return core->service->putBlob(fd, size); };
  auto id = callOnLoop<thunder::BlobId>(*core, std::move(op));
  if (!id) return report(id.error());
  std::memcpy(blob_out, id->data(), 32);
  return THUNDER_OK;
}

namespace {

int reportResolved(const Result<thunder::sdk::ResolvedContent>& resolved, thunder_resolved* out) {
  if (!resolved) return report(resolved.error());
  std::memcpy(out->blob, resolved->blob.data(), 32);
  out->size = resolved->size;
  return THUNDER_OK;
}

}  // namespace

int thunder_resolve_blob(thunder_service* service, const uint8_t blob[32], thunder_resolved* out) {
  if (blob == nullptr || out == nullptr) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_resolve_blob: NULL"});
  }
  Core* core = service->core.get();
  const thunder::BlobId id = blobFrom(blob);
  auto op = [core, id] { return core->service->resolveBlob(id); };
  return reportResolved(callOnLoop<thunder::sdk::ResolvedContent>(*core, std::move(op)), out);
}

int thunder_resolve_cid(thunder_service* service, const char* cid, thunder_resolved* out) {
  if (cid == nullptr || out == nullptr) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_resolve_cid: NULL"});
  }
  Core* core = service->core.get();
  auto op = [core, text = std::string(cid)] { return core->service->resolveCid(text); };
  return reportResolved(callOnLoop<thunder::sdk::ResolvedContent>(*core, std::move(op)), out);
}

int thunder_propose_usage(thunder_service* service, uint64_t connection_id, int commodity,
                          uint64_t amount) {
  if (commodity != THUNDER_COMMODITY_BANDWIDTH_BYTES && commodity != THUNDER_COMMODITY_COMPUTE_MS) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_propose_usage: unknown commodity"});
  }
  Core* core = service->core.get();
  auto op = [core, connection_id, commodity, amount] {
    return core->service->proposeUsage(connection_id,
                                       static_cast<thunder::sdk::Commodity>(commodity), amount);
  };
  auto done = callOnLoop<void>(*core, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

int thunder_metric(thunder_service* service, const char* name, int kind, uint64_t value) {
  if (name == nullptr || (kind != THUNDER_METRIC_COUNTER && kind != THUNDER_METRIC_GAUGE)) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_metric: NULL name or bad kind"});
  }
  Core* core = service->core.get();
  thunder::sdk::MetricSample sample{name, static_cast<thunder::sdk::MetricKind>(kind), value};
  auto op = [core, sample = std::move(sample)] { return metricOp(core, sample); };
  auto done = callOnLoop<void>(*core, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

// ---- connection header

uint64_t thunder_connection_id(const thunder_connection* c) {
  return info(c).connection_id;
}
const uint8_t* thunder_connection_client_key(const thunder_connection* c) {
  return info(c).client_key.data();
}
const char* thunder_connection_client_key_hex(const thunder_connection* c) {
  return c->client_key_hex.c_str();
}
uint32_t thunder_connection_service_id(const thunder_connection* c) {
  return info(c).service_id;
}
uint32_t thunder_connection_lane(const thunder_connection* c) {
  return info(c).lane;
}
const char* thunder_connection_transport(const thunder_connection* c) {
  return info(c).transport.c_str();
}
int thunder_connection_is_http(const thunder_connection* c) {
  return info(c).http ? 1 : 0;
}
const char* thunder_http_method(const thunder_connection* c) {
  return info(c).http ? info(c).http->method.c_str() : "";
}
const char* thunder_http_path(const thunder_connection* c) {
  return info(c).http ? info(c).http->path.c_str() : "";
}
const char* thunder_http_query(const thunder_connection* c) {
  return info(c).http ? info(c).http->query.c_str() : "";
}
size_t thunder_http_header_count(const thunder_connection* c) {
  return info(c).http ? info(c).http->headers.size() : 0;
}
int thunder_http_header(const thunder_connection* c, size_t index, const char** name,
                        const char** value) {
  if (index >= thunder_http_header_count(c)) {
    return report(Error{ErrorCode::kNotFound, "thunder_http_header: index out of range"});
  }
  const auto& header = info(c).http->headers[index];
  *name = header.name.c_str();
  *value = header.value.c_str();
  return THUNDER_OK;
}
const char* thunder_http_header_value(const thunder_connection* c, const char* name) {
  if (!info(c).http || name == nullptr) return nullptr;
  for (const auto& header : info(c).http->headers) {
    if (header.name.size() == std::strlen(name) && ::strcasecmp(header.name.c_str(), name) == 0) {
      return header.value.c_str();
    }
  }
  return nullptr;
}

// ---- connection data

int thunder_connection_read(thunder_connection* c, const uint8_t** data, size_t* length) {
  auto op = [](Connection& connection) { return connection.read(); };
  auto chunk = connectionCall<std::optional<Bytes>>(c, std::move(op));
  if (!chunk) return report(chunk.error());
  if (!*chunk) {
    *data = nullptr;
    *length = 0;
    t_last_error = "the connection has ended";
    return THUNDER_END;
  }
  c->read_buffer = std::move(**chunk);
  *data = c->read_buffer.data();
  *length = c->read_buffer.size();
  return THUNDER_OK;
}

int thunder_connection_write(thunder_connection* c, const void* data, size_t length) {
  if (data == nullptr && length > 0) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_connection_write: NULL data"});
  }
  const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data), length);
  auto op = [bytes](Connection& connection) { return connection.write(bytes); };
  auto done = connectionCall<void>(c, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

int thunder_connection_stream_blob(thunder_connection* c, const uint8_t blob[32],
                                   const thunder_range* ranges, size_t count) {
  return thunder_connection_stream_blob_mode(c, blob, ranges, count, THUNDER_STREAM_VERIFIED);
}

int thunder_connection_stream_blob_mode(thunder_connection* c, const uint8_t blob[32],
                                        const thunder_range* ranges, size_t count, int mode) {
  if (ranges == nullptr && count > 0) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_connection_stream_blob: NULL"});
  }
  if (mode != THUNDER_STREAM_VERIFIED && mode != THUNDER_STREAM_RAW) {
    return report(Error{ErrorCode::kInvalidArgument,
                        "thunder_connection_stream_blob_mode: unknown mode (use "
                        "THUNDER_STREAM_VERIFIED or THUNDER_STREAM_RAW)"});
  }
  std::vector<thunder::sdk::ByteRange> copy;
  for (size_t i = 0; i < count; ++i) copy.push_back({ranges[i].offset, ranges[i].length});
  const thunder::BlobId id = blobFrom(blob);
  const auto stream_mode = static_cast<thunder::sdk::StreamMode>(mode);
  auto op = [id, stream_mode, copy = std::move(copy)](Connection& connection) {
    return connection.streamBlob(id, std::span<const thunder::sdk::ByteRange>(copy), stream_mode);
  };
  auto done = connectionCall<void>(c, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

int thunder_connection_end(thunder_connection* c, int reason, const char* message) {
  if (reason < THUNDER_END_NORMAL || reason > THUNDER_END_SHUTDOWN) {
    return report(Error{ErrorCode::kInvalidArgument, "thunder_connection_end: unknown reason"});
  }
  std::string text = message == nullptr ? std::string() : std::string(message);
  auto op = [reason, text = std::move(text)](Connection& connection) {
    return connection.end(static_cast<thunder::sdk::EndReason>(reason), text);
  };
  auto done = connectionCall<void>(c, std::move(op));
  return done ? THUNDER_OK : report(done.error());
}

void thunder_connection_close(thunder_connection* c) {
  if (c == nullptr) return;
  Core* core = c->core.get();
  auto op = [core, c] { return closeConnectionOp(core, c); };
  (void)callOnLoop<void>(*core, std::move(op));
  if (!c->zombie) delete c;
}

}  // extern "C"
