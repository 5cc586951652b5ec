// QuicConnection: construction (ngtcp2 settings and transport parameters, the GnuTLS session)
// and the ngtcp2 callbacks. The rest of the class is in quic_connection.cc.
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>

#include "crypto/random.h"
#include "net/quic_connection.h"
#include "net/quic_endpoint.h"

namespace thunder::net {

namespace {

// Flow-control windows: what a peer may send before the application reads. The session
// stream's window bounds the receive buffer; the connection's adds room for data on refused
// streams.
constexpr uint64_t kStreamWindow = 1024 * 1024;
constexpr uint64_t kConnectionWindow = kStreamWindow + 64 * 1024;
// Bidirectional streams a client may open over a connection's life: the session stream and a
// few that are refused with a stream reset (any more is a STREAM_LIMIT_ERROR).
constexpr uint64_t kClientBidiStreams = 4;
// Packets stay within the largest payload ngtcp2 probes (path MTU discovery).
constexpr size_t kMaxTxUdpPayload = NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE;
constexpr size_t kClientInitialDcidLength = 18;

ngtcp2_tstamp nowTs() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

ngtcp2_duration toDuration(std::chrono::milliseconds ms) {
  return static_cast<ngtcp2_duration>(ms.count()) * NGTCP2_MILLISECONDS;
}

std::string cidKey(const uint8_t* data, size_t length) {
  return std::string(reinterpret_cast<const char*>(data), length);
}

ngtcp2_cid randomCid(size_t length) {
  ngtcp2_cid cid{};
  cid.datalen = length;
  crypto::randomBytes(std::span<uint8_t>(cid.data, length));
  return cid;
}

ngtcp2_settings makeSettings(const QuicConnectionOptions& options) {
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = nowTs();
  settings.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  settings.max_tx_udp_payload_size = kMaxTxUdpPayload;
  settings.handshake_timeout = toDuration(options.handshake_timeout);
  settings.max_window = 0;  // fixed windows: memory per connection stays bounded
  settings.max_stream_window = 0;
  return settings;
}

ngtcp2_transport_params makeParams(QuicRole role, const QuicConnectionOptions& options) {
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_data = kConnectionWindow;
  params.initial_max_stream_data_uni = 0;
  params.initial_max_streams_uni = 0;
  if (role == QuicRole::kServer) {
    params.initial_max_stream_data_bidi_remote = kStreamWindow;  // the client opens the stream
    params.initial_max_stream_data_bidi_local = 0;
    params.initial_max_streams_bidi = kClientBidiStreams;
    params.disable_active_migration = 1;
  } else {
    params.initial_max_stream_data_bidi_local = kStreamWindow;
    params.initial_max_stream_data_bidi_remote = 0;
    params.initial_max_streams_bidi = 0;  // the node opens no streams
  }
  params.max_idle_timeout = toDuration(options.idle_timeout);
  return params;
}

}  // namespace

struct QuicConnection::Callbacks {
  static QuicConnection& self(void* user_data) { return *static_cast<QuicConnection*>(user_data); }

  static void rand(uint8_t* dest, size_t length, const ngtcp2_rand_ctx*) {
    crypto::randomBytes(std::span<uint8_t>(dest, length));
  }

  static int getNewConnectionId(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t length,
                                void* user_data) {
    QuicConnection& c = self(user_data);
    *cid = randomCid(length);
    // Stateless resets are not sent by this implementation; the token is random.
    crypto::randomBytes(std::span<uint8_t>(token, NGTCP2_STATELESS_RESET_TOKENLEN));
    std::string key = cidKey(cid->data, cid->datalen);
    c.cids_.push_back(key);
    if (c.endpoint_ != nullptr) c.endpoint_->addConnectionId(std::move(key), &c);
    return 0;
  }

  static int removeConnectionId(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data) {
    QuicConnection& c = self(user_data);
    const std::string key = cidKey(cid->data, cid->datalen);
    std::erase(c.cids_, key);
    if (c.endpoint_ != nullptr) c.endpoint_->removeConnectionId(key);
    return 0;
  }

  static int handshakeCompleted(ngtcp2_conn*, void* user_data) {
    return self(user_data).onHandshakeCompleted() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  // The session stream is the first client-initiated bidirectional one (id 0); data on any
  // other is dropped and the stream refused once ngtcp2 returns.
  static bool acceptStream(QuicConnection& c, int64_t stream_id) {
    if (stream_id == c.stream_id_) return true;
    if (c.role_ == QuicRole::kServer && c.stream_id_ < 0 && stream_id == 0) {
      c.stream_id_ = 0;
      c.tx_wakeup_.notify();
      return true;
    }
    if (std::find(c.refused_streams_.begin(), c.refused_streams_.end(), stream_id) ==
        c.refused_streams_.end()) {
      c.refused_streams_.push_back(stream_id);
    }
    return false;
  }

  static int streamOpen(ngtcp2_conn*, int64_t stream_id, void* user_data) {
    acceptStream(self(user_data), stream_id);
    return 0;
  }

  static int recvStreamData(ngtcp2_conn* conn, uint32_t flags, int64_t stream_id, uint64_t,
                            const uint8_t* data, size_t length, void* user_data, void*) {
    QuicConnection& c = self(user_data);
    if (!acceptStream(c, stream_id)) {
      ngtcp2_conn_extend_max_offset(conn, length);  // dropped: it must not use up the window
      return 0;
    }
    if (!c.app_closed_) c.rx_.append(std::span<const uint8_t>(data, length));
    if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0) c.rx_fin_ = true;
    c.rx_wakeup_.notify();
    return 0;
  }

  static int ackedStreamDataOffset(ngtcp2_conn*, int64_t stream_id, uint64_t offset,
                                   uint64_t length, void* user_data, void*) {
    QuicConnection& c = self(user_data);
    if (stream_id != c.stream_id_) return 0;
    c.tx_.markAcked(offset, length);
    if (c.fin_sent_ && offset + length == c.tx_.endOffset()) c.fin_acked_ = true;
    c.tx_wakeup_.notify();
    return 0;
  }

  static int streamClose(ngtcp2_conn*, uint32_t, int64_t stream_id, uint64_t, void* user_data,
                         void*) {
    QuicConnection& c = self(user_data);
    if (stream_id == c.stream_id_) c.stream_closed_ = true;
    c.wakeAll();
    return 0;
  }

  static int streamReset(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t app_error_code,
                         void* user_data, void*) {
    QuicConnection& c = self(user_data);
    if (stream_id != c.stream_id_) {
      c.other_resets_.emplace_back(stream_id, app_error_code);
      return 0;
    }
    c.rx_error_ = Error{ErrorCode::kUnavailable, fmt::format("{} reset the stream (error 0x{:x})",
                                                             c.remoteAddress(), app_error_code)};
    c.rx_wakeup_.notify();
    return 0;
  }

  static int extendMaxStreamData(ngtcp2_conn*, int64_t, uint64_t, void* user_data, void*) {
    self(user_data).scheduleFlush();
    return 0;
  }

  // Client: the node allows streams now (right after the handshake): open the session stream,
  // and announce it at once with a MAX_STREAM_DATA frame (RFC 9000 §3.2: that opens a
  // client-initiated stream at the node too), so the node may write first. ngtcp2 sends the
  // frame once the window grows by more than half; the stream's receive window becomes 1.5 MiB.
  static int extendMaxLocalStreamsBidi(ngtcp2_conn* conn, uint64_t, void* user_data) {
    QuicConnection& c = self(user_data);
    if (c.stream_id_ >= 0) return 0;
    int64_t id = -1;
    if (ngtcp2_conn_open_bidi_stream(conn, &id, nullptr) == 0) {
      c.stream_id_ = id;
      ngtcp2_conn_extend_max_stream_offset(conn, id, kStreamWindow / 2 + 1);
      c.tx_wakeup_.notify();
    }
    return 0;
  }

  static ngtcp2_callbacks make(QuicRole role) {
    ngtcp2_callbacks callbacks{};
    if (role == QuicRole::kServer) {
      callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
      callbacks.stream_open = streamOpen;
    } else {
      callbacks.client_initial = ngtcp2_crypto_client_initial_cb;
      callbacks.recv_retry = ngtcp2_crypto_recv_retry_cb;
      callbacks.extend_max_local_streams_bidi = extendMaxLocalStreamsBidi;
    }
    callbacks.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    callbacks.encrypt = ngtcp2_crypto_encrypt_cb;
    callbacks.decrypt = ngtcp2_crypto_decrypt_cb;
    callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb;
    callbacks.update_key = ngtcp2_crypto_update_key_cb;
    callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    callbacks.rand = rand;
    callbacks.get_new_connection_id = getNewConnectionId;
    callbacks.remove_connection_id = removeConnectionId;
    callbacks.handshake_completed = handshakeCompleted;
    callbacks.recv_stream_data = recvStreamData;
    callbacks.acked_stream_data_offset = ackedStreamDataOffset;
    callbacks.stream_close = streamClose;
    callbacks.stream_reset = streamReset;
    callbacks.extend_max_stream_data = extendMaxStreamData;
    return callbacks;
  }
};

QuicConnection::QuicConnection(QuicEndpoint& endpoint, QuicRole role,
                               const boost::asio::ip::udp::endpoint& remote,
                               QuicConnectionOptions options)
    : endpoint_(&endpoint),
      executor_(endpoint.executor()),
      role_(role),
      remote_(remote),
      options_(options),
      timer_(executor_),
      handshake_deadline_(std::chrono::steady_clock::now() + options.handshake_timeout),
      rx_wakeup_(executor_),
      tx_wakeup_(executor_),
      established_wakeup_(executor_),
      tx_(2 * kStreamWindow) {}

QuicConnection::~QuicConnection() {
  if (conn_ != nullptr) ngtcp2_conn_del(conn_);  // before the TLS session it points at
}

Result<void> QuicConnection::startTls(std::shared_ptr<const QuicTlsContext> tls) {
  tls_ref_.conn_ref.get_conn = [](ngtcp2_crypto_conn_ref* ref) {
    return static_cast<QuicConnection*>(ref->user_data)->conn_;
  };
  tls_ref_.conn_ref.user_data = this;
  tls_ref_.pin = role_ == QuicRole::kClient ? &pin_ : nullptr;
  THUNDER_ASSIGN_OR_RETURN(auto session, QuicTlsSession::create(std::move(tls), &tls_ref_));
  tls_.emplace(std::move(session));
  return {};
}

Result<std::shared_ptr<QuicConnection>> QuicConnection::accept(
    QuicEndpoint& endpoint, std::shared_ptr<const QuicTlsContext> tls, const ngtcp2_pkt_hd& initial,
    const boost::asio::ip::udp::endpoint& remote, QuicConnectionOptions options) {
  std::shared_ptr<QuicConnection> c(
      new QuicConnection(endpoint, QuicRole::kServer, remote, options));
  THUNDER_TRY(c->startTls(std::move(tls)));
  const ngtcp2_cid scid = randomCid(kQuicCidLength);
  const ngtcp2_settings settings = makeSettings(options);
  ngtcp2_transport_params params = makeParams(QuicRole::kServer, options);
  params.original_dcid = initial.dcid;
  const ngtcp2_callbacks callbacks = Callbacks::make(QuicRole::kServer);
  boost::asio::ip::udp::endpoint peer = remote;
  const ngtcp2_path path{endpoint.localAddr(),
                         ngtcp2_addr{peer.data(), static_cast<ngtcp2_socklen>(peer.size())},
                         nullptr};
  const int rv = ngtcp2_conn_server_new(&c->conn_, &initial.scid, &scid, &path, initial.version,
                                        &callbacks, &settings, &params, nullptr, c.get());
  if (rv != 0) {
    return thunder::fail(ErrorCode::kInternal, "cannot create a QUIC connection: {}",
                         ngtcp2_strerror(rv));
  }
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_->get());
  c->cids_ = {cidKey(scid.data, scid.datalen), cidKey(initial.dcid.data, initial.dcid.datalen)};
  return c;
}

Result<std::shared_ptr<QuicConnection>> QuicConnection::connect(
    QuicEndpoint& endpoint, std::shared_ptr<const QuicTlsContext> tls,
    const boost::asio::ip::udp::endpoint& remote, PublicKey expected_node_key,
    QuicConnectionOptions options) {
  std::shared_ptr<QuicConnection> c(
      new QuicConnection(endpoint, QuicRole::kClient, remote, options));
  c->pin_.expected = expected_node_key;
  THUNDER_TRY(c->startTls(std::move(tls)));
  const ngtcp2_cid dcid = randomCid(kClientInitialDcidLength);
  const ngtcp2_cid scid = randomCid(kQuicCidLength);
  const ngtcp2_settings settings = makeSettings(options);
  const ngtcp2_transport_params params = makeParams(QuicRole::kClient, options);
  const ngtcp2_callbacks callbacks = Callbacks::make(QuicRole::kClient);
  boost::asio::ip::udp::endpoint peer = remote;
  const ngtcp2_path path{endpoint.localAddr(),
                         ngtcp2_addr{peer.data(), static_cast<ngtcp2_socklen>(peer.size())},
                         nullptr};
  const int rv = ngtcp2_conn_client_new(&c->conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                                        &callbacks, &settings, &params, nullptr, c.get());
  if (rv != 0) {
    return thunder::fail(ErrorCode::kInternal, "cannot create a QUIC connection: {}",
                         ngtcp2_strerror(rv));
  }
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_->get());
  c->cids_ = {cidKey(scid.data, scid.datalen)};
  return c;
}

}  // namespace thunder::net
