// Hello and Welcome: the two signed messages that open a session (docs/protocol/handshake.md).
//
// The client sends a Hello signed with its key; the node answers a Welcome signed with its node
// key. Both signatures cover a transcript hash that includes the transport binding (the TLS
// exporter value where there is TLS), so a Hello or Welcome captured on one connection is
// useless on another. Encoding is canonical: parse(encode(x)) == x and parse accepts nothing
// else. All functions are pure and thread-safe; makeHello() reads the CSPRNG.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/signing.h"
#include "handshake/clock.h"
#include "handshake/types.h"

namespace thunder::handshake {

// BLAKE3 derive-key contexts of the transcripts (domain separation).
inline constexpr std::string_view kHelloContext = "thunder handshake v1 hello";
inline constexpr std::string_view kWelcomeContext = "thunder handshake v1 welcome";
// The TLS exporter (RFC 8446 §7.5) label; context empty, 32 bytes of output.
inline constexpr std::string_view kTlsExporterLabel = "EXPORTER-thunder-handshake-v1";
inline constexpr size_t kMaxBindingSize = 64;

enum class BindingKind : uint8_t {
  kTlsExporter = 1,  // value = the 32-byte TLS exporter output of this connection
  kUnbound = 2,      // no TLS under the session (plain ws:// on loopback, wss:// with a CA
                     // certificate): value empty; the node proves its key by the Welcome
                     // signature over the client's fresh nonce, and replays are refused by the
                     // node's nonce cache
};

// Bytes given by the transport that identify this one connection. Both ends must compute the same.
struct TransportBinding {
  BindingKind kind = BindingKind::kUnbound;
  std::vector<uint8_t> value;  // at most kMaxBindingSize bytes (checked)

  static TransportBinding tlsExporter(std::span<const uint8_t, 32> exporter_value);
  static TransportBinding unbound();
};

enum class LaneRequestKind : uint8_t {
  kNew = 0,     // open a new lane
  kResume = 1,  // resume `lane` with `token`
};

struct LaneRequest {
  LaneRequestKind kind = LaneRequestKind::kNew;
  LaneId lane = 0;     // kResume only (zero otherwise)
  SessionToken token;  // kResume only (zero otherwise)

  static LaneRequest newLane() { return {}; }
  static LaneRequest resume(LaneId lane, const SessionToken& token) {
    return {LaneRequestKind::kResume, lane, token};
  }
  friend bool operator==(const LaneRequest&, const LaneRequest&) = default;
};

struct Hello {
  uint16_t version = kProtocolVersion;
  PublicKey client_pk;
  ServiceId service;
  TimePoint timestamp;  // client clock, Unix ms; the node refuses large skew
  HelloNonce nonce;     // 32 fresh random bytes
  LaneRequest lane;
  Signature signature;  // by client_pk over helloTranscript()

  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  uint16_t version = kProtocolVersion;
  PublicKey node_pk;
  LaneId lane = 0;
  SessionNonce session_nonce;     // names this lane's session in every DACK
  SessionToken token;             // resumption token (replaced by each Welcome/TokenRefresh)
  TimePoint token_expires_at;     // node clock, Unix ms
  uint64_t acked_counter = 0;     // counter of the last DACK the node accepted on this lane
  uint64_t acked_bandwidth = 0;   // cumulative bytes acknowledged: the stream resumes here
  uint64_t acked_compute_ms = 0;  // cumulative compute ms acknowledged
  Signature signature;            // by node_pk over welcomeTranscript()

  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// Canonical encodings (with the signature last) and their strict parsers. The parsers take
// untrusted input and fail with kCorruption on a truncated input, an unknown lane request kind
// or trailing bytes. They do not check the version or the
// signature: verifyHello()/verifyWelcome() and the session do.
std::vector<uint8_t> encodeHello(const Hello& hello);
Result<Hello> parseHello(std::span<const uint8_t> bytes);
std::vector<uint8_t> encodeWelcome(const Welcome& welcome);
Result<Welcome> parseWelcome(std::span<const uint8_t> bytes);

// BLAKE3-derive-key(kHelloContext, binding kind ‖ binding length (u8) ‖ binding value ‖
// Hello encoding without its signature). Precondition (checked): binding value <= 64 bytes.
Hash32 helloTranscript(const Hello& hello, const TransportBinding& binding);

// BLAKE3-derive-key(kWelcomeContext, helloTranscript ‖ Welcome encoding without its signature).
Hash32 welcomeTranscript(const Welcome& welcome, const Hash32& hello_transcript);

// A Hello from `client_key` with a fresh random nonce, signed for `binding`.
Hello makeHello(const crypto::SigningKey& client_key, ServiceId service, LaneRequest lane,
                TimePoint now, const TransportBinding& binding);

// Sets hello.client_pk from the key and signs the transcript (deterministic Ed25519).
void signHello(Hello& hello, const crypto::SigningKey& client_key, const TransportBinding& binding);
// Sets welcome.node_pk from the key and signs the transcript.
void signWelcome(Welcome& welcome, const crypto::SigningKey& node_key,
                 const Hash32& hello_transcript);

// True iff the signature is valid for this binding (never an error: input is untrusted).
bool verifyHello(const Hello& hello, const TransportBinding& binding);
bool verifyWelcome(const Welcome& welcome, const Hash32& hello_transcript);

}  // namespace thunder::handshake
