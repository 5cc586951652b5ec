/* thunder_sdk.h: the C API of the Thunder service SDK (C99), for services written in C and for
 * bindings from other languages. Same protocol and behaviour as the C++ SDK (service.h), with a
 * blocking interface: accept a connection, serve it (typically on a thread of your own), repeat.
 *
 *   thunder_service* service;
 *   if (thunder_service_open(&service) != THUNDER_OK) return 1;   (fd from THUNDER_CONTROL_FD)
 *   thunder_connection* c;
 *   while (thunder_service_accept(service, &c) == THUNDER_OK) {
 *     const uint8_t* data; size_t n;
 *     while (thunder_connection_read(c, &data, &n) == THUNDER_OK)
 *       if (thunder_connection_write(c, data, n) != THUNDER_OK) break;
 *     thunder_connection_close(c);                                (sends End normal)
 *   }
 *   thunder_service_close(service);
 *   return 0;                              (accept returned THUNDER_END: the node stopped it)
 *
 * Errors: every fallible function returns a thunder_status: THUNDER_OK, THUNDER_END (the other
 * side finished: no more connections / no more data), or an error code; the error codes and
 * their numbers are those of the protocol (docs/protocol/ipc.md §3.9). thunder_last_error()
 * gives the message of the last failed call on the calling thread.
 *
 * Threads: the SDK runs its own I/O thread. Every function is thread-safe, except that one
 * connection must be used by one thread at a time. Connections of one service may be served on
 * different threads at once. Close every connection before closing the service; a connection
 * still open then fails every call with THUNDER_ERR_UNAVAILABLE and must still be closed.
 *
 * Ownership: handles are owned by the caller and freed by their close function. Strings and
 * buffers returned by getters belong to their handle and stay valid until it is closed; the
 * buffer from thunder_connection_read() stays valid until the next read or close on that
 * connection. Descriptors returned (thunder_open_blob) belong to the caller.
 */
#ifndef THUNDER_SDK_THUNDER_SDK_H_
#define THUNDER_SDK_THUNDER_SDK_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct thunder_service thunder_service;
typedef struct thunder_connection thunder_connection;

typedef enum thunder_status {
  THUNDER_OK = 0,
  THUNDER_ERR_INVALID_ARGUMENT = 1,
  THUNDER_ERR_NOT_FOUND = 2,
  THUNDER_ERR_ALREADY_EXISTS = 3,
  THUNDER_ERR_CORRUPTION = 4,
  THUNDER_ERR_IO = 5,
  THUNDER_ERR_PERMISSION_DENIED = 6,
  THUNDER_ERR_UNAVAILABLE = 7,
  THUNDER_ERR_RESOURCE_EXHAUSTED = 8,
  THUNDER_ERR_TIMEOUT = 9,
  THUNDER_ERR_CANCELLED = 10,
  THUNDER_ERR_INTERNAL = 11,
  THUNDER_END = 100 /* not an error: the stream of connections or of data has ended */
} thunder_status;

/* End reasons (docs/protocol/ipc.md §4.4). */
enum {
  THUNDER_END_NORMAL = 0,
  THUNDER_END_ERROR = 1,
  THUNDER_END_OVERLOADED = 2,
  THUNDER_END_SHUTDOWN = 3
};
/* Log levels. */
enum {
  THUNDER_LOG_TRACE = 0,
  THUNDER_LOG_DEBUG = 1,
  THUNDER_LOG_INFO = 2,
  THUNDER_LOG_WARN = 3,
  THUNDER_LOG_ERROR = 4
};
/* Commodities for thunder_propose_usage(). */
enum { THUNDER_COMMODITY_BANDWIDTH_BYTES = 1, THUNDER_COMMODITY_COMPUTE_MS = 2 };
/* Metric kinds. */
enum { THUNDER_METRIC_COUNTER = 1, THUNDER_METRIC_GAUGE = 2 };

/* thunder_connection_stream_blob_mode(): what the node sends (docs/protocol/ipc.md §4.3). */
enum { THUNDER_STREAM_VERIFIED = 1, THUNDER_STREAM_RAW = 2 };

/* thunder_open_blob(): length for "to the end of the blob". */
#define THUNDER_TO_END UINT64_MAX

typedef struct thunder_range {
  uint64_t offset;
  uint64_t length; /* >= 1 */
} thunder_range;

typedef struct thunder_node_info {
  uint8_t node_key[32];
  uint32_t service_id;
  char node_version[65]; /* NUL-terminated */
} thunder_node_info;

typedef struct thunder_resolved {
  uint8_t blob[32]; /* a blob the node stores complete */
  uint64_t size;
} thunder_resolved;

typedef struct thunder_opened_blob {
  int fd; /* read-only; owned by the caller (close it); read with pread() */
  uint64_t blob_size;
  uint64_t offset; /* the range is at file offsets [offset, offset + length) */
  uint64_t length;
} thunder_opened_blob;

/* ---- errors */

/* The message of the last call that failed on this thread ("" if none). Valid until the next
 * failing call on this thread. */
const char* thunder_last_error(void);
/* The stable name of a status ("ok", "end", "not_found", ...). */
const char* thunder_status_name(int status);

/* ---- service */

/* Opens the control channel named by THUNDER_CONTROL_FD (how a node starts a service) and starts
 * the SDK's I/O thread. THUNDER_ERR_INVALID_ARGUMENT if the variable is missing or bad. */
int thunder_service_open(thunder_service** out);
/* Same with an explicit descriptor (a connected AF_UNIX stream socket), which it takes over. */
int thunder_service_open_fd(int control_fd, thunder_service** out);
/* Stops the service (as if the node had closed the control channel), waits for the I/O thread
 * and frees the handle. NULL is ignored. */
void thunder_service_close(thunder_service* service);

/* Blocks until the next client connection. THUNDER_END once the node has closed the control
 * channel and no connection is waiting (the service should finish and exit 0); an error code if
 * the control channel failed (e.g. THUNDER_ERR_CORRUPTION for a malformed message). */
int thunder_service_accept(thunder_service* service, thunder_connection** out);

/* ---- node calls (blocking; any thread; errors are the node's or THUNDER_ERR_UNAVAILABLE once
 * the control channel has closed) */

int thunder_get_node_info(thunder_service* service, thunder_node_info* out);
/* A log line in the node's log (at most 4096 bytes are sent). */
int thunder_log(thunder_service* service, int level, const char* message);
/* Opens [offset, offset + length) of a blob (length THUNDER_TO_END: to its end). */
int thunder_open_blob(thunder_service* service, const uint8_t blob[32], uint64_t offset,
                      uint64_t length, thunder_opened_blob* out);
/* Stores `size` bytes the node reads from `fd`'s current position; the caller keeps `fd`. */
int thunder_put_blob(thunder_service* service, int fd, uint64_t size, uint8_t blob_out[32]);
/* Content by name (ipc.md §3.11): the blob id and size of a blob the node stores complete.
 * thunder_resolve_blob: THUNDER_ERR_NOT_FOUND unless the node stores `blob` complete.
 * thunder_resolve_cid: a CID's text form (NUL-terminated, at most 256 bytes) through the node's
 * IPFS index: THUNDER_ERR_INVALID_ARGUMENT (not a CID), THUNDER_ERR_NOT_FOUND (not here),
 * THUNDER_ERR_UNAVAILABLE (the node has no IPFS store). */
int thunder_resolve_blob(thunder_service* service, const uint8_t blob[32], thunder_resolved* out);
int thunder_resolve_cid(thunder_service* service, const char* cid, thunder_resolved* out);
int thunder_propose_usage(thunder_service* service, uint64_t connection_id, int commodity,
                          uint64_t amount);
/* One metric sample (name: 1..128 bytes of [a-z0-9_]). */
int thunder_metric(thunder_service* service, const char* name, int kind, uint64_t value);

/* ---- connection header (never fail; strings are NUL-terminated) */

uint64_t thunder_connection_id(const thunder_connection* connection);
const uint8_t* thunder_connection_client_key(const thunder_connection* connection); /* 32 bytes */
const char* thunder_connection_client_key_hex(const thunder_connection* connection);
uint32_t thunder_connection_service_id(const thunder_connection* connection);
uint32_t thunder_connection_lane(const thunder_connection* connection);
const char* thunder_connection_transport(const thunder_connection* connection);
/* 1 if the client came over HTTP (the http getters below then answer), else 0. */
int thunder_connection_is_http(const thunder_connection* connection);
const char* thunder_http_method(const thunder_connection* connection); /* "" if not HTTP */
const char* thunder_http_path(const thunder_connection* connection);
const char* thunder_http_query(const thunder_connection* connection);
size_t thunder_http_header_count(const thunder_connection* connection);
/* The index-th header; THUNDER_ERR_NOT_FOUND if index >= count. */
int thunder_http_header(const thunder_connection* connection, size_t index, const char** name,
                        const char** value);
/* The first header named `name` (ASCII case-insensitive), or NULL. */
const char* thunder_http_header_value(const thunder_connection* connection, const char* name);

/* ---- connection data (blocking) */

/* The next bytes from the client: *data and *length give a buffer owned by the connection.
 * The length may be 0 (for HTTP: the end of the request body). THUNDER_END once the node has
 * ended the connection (the client went away). */
int thunder_connection_read(thunder_connection* connection, const uint8_t** data, size_t* length);
/* Sends bytes to the client (any length; split as needed); blocks while the node is slow. */
int thunder_connection_write(thunder_connection* connection, const void* data, size_t length);
/* Content by reference: the node streams these ranges of the blob to the client, verified. */
int thunder_connection_stream_blob(thunder_connection* connection, const uint8_t blob[32],
                                   const thunder_range* ranges, size_t count);
/* The same with a mode: THUNDER_STREAM_VERIFIED (as above) or THUNDER_STREAM_RAW (the bytes of
 * the ranges themselves, e.g. an HTTP body after its head). */
int thunder_connection_stream_blob_mode(thunder_connection* connection, const uint8_t blob[32],
                                        const thunder_range* ranges, size_t count, int mode);
/* Sends End (reason THUNDER_END_*, message may be NULL). A second end does nothing. */
int thunder_connection_end(thunder_connection* connection, int reason, const char* message);
/* Ends the connection normally if it has not ended, and frees the handle. NULL is ignored. */
void thunder_connection_close(thunder_connection* connection);

#ifdef __cplusplus
}
#endif

#endif /* THUNDER_SDK_THUNDER_SDK_H_ */
