#include "handshake/connection_binding.h"

namespace thunder::handshake {

Result<TransportBinding> transportBindingOf(const net::StreamConnection& conn) {
  if (conn.keyingMaterial() == net::KeyingMaterial::kNone) return TransportBinding::unbound();
  THUNDER_ASSIGN_OR_RETURN(const net::ExportedKey exported,
                           conn.exportKeyingMaterial(kTlsExporterLabel));
  return TransportBinding::tlsExporter(std::span<const uint8_t, 32>(exported));
}

}  // namespace thunder::handshake
