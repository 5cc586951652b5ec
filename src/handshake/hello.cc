#include "handshake/hello.h"

#include "base/check.h"
#include "crypto/blake3.h"
#include "crypto/random.h"
#include "handshake/wire.h"

namespace thunder::handshake {
namespace {

void writeHelloBody(ByteWriter& w, const Hello& hello) {
  w.u16(hello.version);
  w.bytes(hello.client_pk.bytes());
  w.u32(hello.service.value());
  w.u64(toUnixMs(hello.timestamp));
  w.bytes(hello.nonce.bytes());
  w.u8(static_cast<uint8_t>(hello.lane.kind));
  if (hello.lane.kind == LaneRequestKind::kResume) {
    w.u32(hello.lane.lane);
    w.bytes(hello.lane.token.bytes());
  }
}

void writeWelcomeBody(ByteWriter& w, const Welcome& welcome) {
  w.u16(welcome.version);
  w.bytes(welcome.node_pk.bytes());
  w.u32(welcome.lane);
  w.bytes(welcome.session_nonce.bytes());
  w.bytes(welcome.token.bytes());
  w.u64(toUnixMs(welcome.token_expires_at));
  w.u64(welcome.acked_counter);
  w.u64(welcome.acked_bandwidth);
  w.u64(welcome.acked_compute_ms);
}

Hash32 toHash(const BlobId& id) {
  return Hash32(id.bytes());
}

}  // namespace

TransportBinding TransportBinding::tlsExporter(std::span<const uint8_t, 32> exporter_value) {
  return {BindingKind::kTlsExporter, {exporter_value.begin(), exporter_value.end()}};
}

TransportBinding TransportBinding::unbound() {
  return {BindingKind::kUnbound, {}};
}

std::vector<uint8_t> encodeHello(const Hello& hello) {
  ByteWriter w;
  writeHelloBody(w, hello);
  w.bytes(hello.signature.bytes());
  return w.take();
}

Result<Hello> parseHello(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "hello");
  Hello h;
  THUNDER_ASSIGN_OR_RETURN(h.version, r.u16("version"));
  THUNDER_TRY(r.bytes("client_pk", h.client_pk.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint32_t service, r.u32("service_id"));
  h.service = ServiceId(service);
  THUNDER_ASSIGN_OR_RETURN(const uint64_t timestamp, r.u64("timestamp"));
  h.timestamp = fromUnixMs(timestamp);
  THUNDER_TRY(r.bytes("nonce", h.nonce.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("lane request"));
  if (kind == static_cast<uint8_t>(LaneRequestKind::kResume)) {
    h.lane.kind = LaneRequestKind::kResume;
    THUNDER_ASSIGN_OR_RETURN(h.lane.lane, r.u32("lane"));
    THUNDER_TRY(r.bytes("token", h.lane.token.mutableBytes()));
  } else if (kind != static_cast<uint8_t>(LaneRequestKind::kNew)) {
    return fail(ErrorCode::kCorruption, "hello: unknown lane request kind {}", kind);
  }
  THUNDER_TRY(r.bytes("signature", h.signature.mutableBytes()));
  THUNDER_TRY(r.expectEnd());
  return h;
}

std::vector<uint8_t> encodeWelcome(const Welcome& welcome) {
  ByteWriter w;
  writeWelcomeBody(w, welcome);
  w.bytes(welcome.signature.bytes());
  return w.take();
}

Result<Welcome> parseWelcome(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "welcome");
  Welcome m;
  THUNDER_ASSIGN_OR_RETURN(m.version, r.u16("version"));
  THUNDER_TRY(r.bytes("node_pk", m.node_pk.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(m.lane, r.u32("lane"));
  THUNDER_TRY(r.bytes("session_nonce", m.session_nonce.mutableBytes()));
  THUNDER_TRY(r.bytes("token", m.token.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint64_t expires, r.u64("token_expires_at"));
  m.token_expires_at = fromUnixMs(expires);
  THUNDER_ASSIGN_OR_RETURN(m.acked_counter, r.u64("acked_counter"));
  THUNDER_ASSIGN_OR_RETURN(m.acked_bandwidth, r.u64("acked_bandwidth"));
  THUNDER_ASSIGN_OR_RETURN(m.acked_compute_ms, r.u64("acked_compute_ms"));
  THUNDER_TRY(r.bytes("signature", m.signature.mutableBytes()));
  THUNDER_TRY(r.expectEnd());
  return m;
}

Hash32 helloTranscript(const Hello& hello, const TransportBinding& binding) {
  THUNDER_CHECK(binding.value.size() <= kMaxBindingSize, "transport binding above 64 bytes");
  ByteWriter w;
  w.u8(static_cast<uint8_t>(binding.kind));
  w.u8(static_cast<uint8_t>(binding.value.size()));
  w.bytes(binding.value);
  writeHelloBody(w, hello);
  auto hasher = crypto::Blake3Hasher::deriveKey(kHelloContext);
  hasher.update(w.view());
  return toHash(hasher.finalize());
}

Hash32 welcomeTranscript(const Welcome& welcome, const Hash32& hello_transcript) {
  ByteWriter w;
  w.bytes(hello_transcript.bytes());
  writeWelcomeBody(w, welcome);
  auto hasher = crypto::Blake3Hasher::deriveKey(kWelcomeContext);
  hasher.update(w.view());
  return toHash(hasher.finalize());
}

Hello makeHello(const crypto::SigningKey& client_key, ServiceId service, LaneRequest lane,
                TimePoint now, const TransportBinding& binding) {
  Hello hello;
  hello.service = service;
  hello.timestamp = now;
  crypto::randomBytes(hello.nonce.mutableBytes());
  hello.lane = lane;
  signHello(hello, client_key, binding);
  return hello;
}

void signHello(Hello& hello, const crypto::SigningKey& client_key,
               const TransportBinding& binding) {
  hello.client_pk = client_key.publicKey();
  hello.signature = client_key.sign(helloTranscript(hello, binding).bytes());
}

void signWelcome(Welcome& welcome, const crypto::SigningKey& node_key,
                 const Hash32& hello_transcript) {
  welcome.node_pk = node_key.publicKey();
  welcome.signature = node_key.sign(welcomeTranscript(welcome, hello_transcript).bytes());
}

bool verifyHello(const Hello& hello, const TransportBinding& binding) {
  if (binding.value.size() > kMaxBindingSize) return false;
  return crypto::verifySignature(hello.client_pk, helloTranscript(hello, binding).bytes(),
                                 hello.signature);
}

bool verifyWelcome(const Welcome& welcome, const Hash32& hello_transcript) {
  return crypto::verifySignature(
      welcome.node_pk, welcomeTranscript(welcome, hello_transcript).bytes(), welcome.signature);
}

}  // namespace thunder::handshake
