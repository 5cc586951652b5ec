// The services built into the node until the service executor exists
// (docs/protocol/builtin-services.md), behind the SessionService interface the executor will
// implement:
//
//   EchoService     id 1  every payload is sent back unchanged
//   ContentService  id 0  one request (content_request.h) → the verified range stream of
//                         docs/formats/verified-stream.md from the node's BlobStore, in payload
//                         frames, then a normal Termination
//
// ContentService reads the store only on the blocking pool, one 64 KiB piece at a time, and
// awaits each write before reading the next (never the whole blob in memory). Both borrow what
// they are given (store, pool), which must outlive their connections. Thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "content/blob_store.h"
#include "handshake/content_request.h"
#include "handshake/session_service.h"

namespace thunder::handshake {

class EchoService final : public SessionService {
 public:
  ServiceId id() const override { return kEchoServiceId; }
  std::string_view name() const override { return "echo"; }
  Result<std::unique_ptr<ServiceConnection>> open(const ConnectionInfo& info) override;
};

class ContentService final : public SessionService {
 public:
  ContentService(content::BlobStore& store, boost::asio::thread_pool& blocking_pool)
      : store_(store), pool_(blocking_pool) {}
  ServiceId id() const override { return kContentServiceId; }
  std::string_view name() const override { return "content"; }
  Result<std::unique_ptr<ServiceConnection>> open(const ConnectionInfo& info) override;

 private:
  content::BlobStore& store_;
  boost::asio::thread_pool& pool_;
};

// Adds EchoService and ContentService to `services`, each unless its id is taken already (a
// node that runs another service under id 0, e.g. thunder-service-cdn, keeps it).
Result<void> addBuiltinServices(SessionServices& services, content::BlobStore& store,
                                boost::asio::thread_pool& blocking_pool);

}  // namespace thunder::handshake
