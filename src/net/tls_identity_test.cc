#include "net/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "net/openssl_util.h"

namespace thunder::net {
namespace {

X509Ptr parse(const std::vector<uint8_t>& der) {
  const unsigned char* cursor = der.data();
  return X509Ptr(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
}

TEST(TlsIdentityTest, CertificateCarriesTheNodeKeyAndIsSelfSigned) {
  const auto key = crypto::SigningKey::generate();
  auto identity = TlsIdentity::fromSigningKey(key);
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity->publicKey(), key.publicKey());

  X509Ptr cert = parse(identity->certificateDer());
  ASSERT_TRUE(cert);
  auto presented = checkSelfSignedEd25519(cert.get());
  ASSERT_TRUE(presented) << presented.error().message;
  EXPECT_EQ(*presented, key.publicKey());
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);

  // Subject names the key; issuer is the subject (self-signed).
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof subject);
  EXPECT_NE(std::string(subject).find(key.publicKey().hex()), std::string::npos) << subject;
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
}

TEST(TlsIdentityTest, SameKeyGivesTheSameCertificate) {
  const auto key = crypto::SigningKey::generate();
  auto a = TlsIdentity::fromSigningKey(key);
  auto b = TlsIdentity::fromSigningKey(key);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->certificateDer(), b->certificateDer());
  auto other = TlsIdentity::fromSigningKey(crypto::SigningKey::generate());
  ASSERT_TRUE(other);
  EXPECT_NE(a->certificateDer(), other->certificateDer());
}

TEST(TlsIdentityTest, TamperedCertificateFailsTheSelfSignatureCheck) {
  auto identity = TlsIdentity::fromSigningKey(crypto::SigningKey::generate());
  ASSERT_TRUE(identity);
  std::vector<uint8_t> der = identity->certificateDer();
  der[der.size() - 1] ^= 0x01;  // last byte of the signature
  X509Ptr cert = parse(der);
  ASSERT_TRUE(cert);
  auto checked = checkSelfSignedEd25519(cert.get());
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(checked.error().message.find("not validly self-signed"), std::string::npos)
      << checked.error().message;
}

TEST(TlsIdentityTest, NonEd25519KeyIsNamed) {
  EvpPkeyPtr x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  ASSERT_TRUE(x25519);
  auto extracted = ed25519PublicKey(x25519.get());
  ASSERT_FALSE(extracted);
  EXPECT_EQ(extracted.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(extracted.error().message.find("X25519"), std::string::npos)
      << extracted.error().message;
}

}  // namespace
}  // namespace thunder::net
