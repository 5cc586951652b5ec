/* A service written in C99 against thunder_sdk.h, run by c_api_test.cc as a child process with
 * its control channel at fd 3 (as a node starts a service). Each connection is served on its own
 * thread. Per connection it first writes a line describing the connection header, then for each
 * payload: "stream" -> streams two ranges of blob 42..42; "open" -> opens blob 07..07 and writes
 * its bytes; "resolve" -> resolves CID "bafytest", writes the size as a line and streams the
 * resolved blob's first byte raw; "end" -> ends with an error; anything else is echoed. Exit status: 0 when the node
 * closed the control channel, 2 if the service could not start, 3 on a control channel error,
 * 4 if a node call failed. */
#define _POSIX_C_SOURCE 200809L /* pread, snprintf with -std=c99 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thunder/sdk/thunder_sdk.h"

#define MAX_THREADS 64

static thunder_service* g_service;

static int equals(const uint8_t* data, size_t length, const char* word) {
  return length == strlen(word) && memcmp(data, word, length) == 0;
}

static int writeHeaderLine(thunder_connection* c) {
  char line[1024];
  const char* host = thunder_http_header_value(c, "host");
  int n =
      snprintf(line, sizeof line, "id=%llu key=%.8s service=%u lane=%u transport=%s http=%d",
               (unsigned long long)thunder_connection_id(c), thunder_connection_client_key_hex(c),
               (unsigned)thunder_connection_service_id(c), (unsigned)thunder_connection_lane(c),
               thunder_connection_transport(c), thunder_connection_is_http(c));
  if (thunder_connection_is_http(c)) {
    n += snprintf(line + n, sizeof line - (size_t)n, " %s %s?%s host=%s headers=%u",
                  thunder_http_method(c), thunder_http_path(c), thunder_http_query(c),
                  host ? host : "-", (unsigned)thunder_http_header_count(c));
  }
  n += snprintf(line + n, sizeof line - (size_t)n, "\n");
  return thunder_connection_write(c, line, (size_t)n);
}

static int writeBlob(thunder_connection* c) {
  uint8_t blob[32];
  thunder_opened_blob opened;
  char buffer[256];
  ssize_t got;
  int status;
  memset(blob, 0x07, sizeof blob);
  status = thunder_open_blob(g_service, blob, 0, THUNDER_TO_END, &opened);
  if (status != THUNDER_OK) {
    return thunder_connection_end(c, THUNDER_END_ERROR, thunder_last_error());
  }
  if (opened.length > sizeof buffer) opened.length = sizeof buffer;
  got = pread(opened.fd, buffer, (size_t)opened.length, (off_t)opened.offset);
  close(opened.fd);
  if (got < 0) return thunder_connection_end(c, THUNDER_END_ERROR, "pread failed");
  return thunder_connection_write(c, buffer, (size_t)got);
}

static int resolveAndStream(thunder_connection* c) {
  thunder_resolved resolved;
  thunder_range first;
  char line[64];
  int n;
  if (thunder_resolve_cid(g_service, "bafytest", &resolved) != THUNDER_OK) {
    return thunder_connection_end(c, THUNDER_END_ERROR, thunder_last_error());
  }
  n = snprintf(line, sizeof line, "size=%llu\n", (unsigned long long)resolved.size);
  if (thunder_connection_write(c, line, (size_t)n) != THUNDER_OK) return 1;
  first.offset = 0;
  first.length = 1;
  return thunder_connection_stream_blob_mode(c, resolved.blob, &first, 1, THUNDER_STREAM_RAW);
}

static void* serve(void* arg) {
  thunder_connection* c = (thunder_connection*)arg;
  const uint8_t* data;
  size_t length;
  if (writeHeaderLine(c) != THUNDER_OK) goto done;
  while (thunder_connection_read(c, &data, &length) == THUNDER_OK) {
    if (equals(data, length, "stream")) {
      uint8_t blob[32];
      thunder_range ranges[2];
      memset(blob, 0x42, sizeof blob);
      ranges[0].offset = 0;
      ranges[0].length = 10;
      ranges[1].offset = 20;
      ranges[1].length = 5;
      if (thunder_connection_stream_blob(c, blob, ranges, 2) != THUNDER_OK) break;
    } else if (equals(data, length, "open")) {
      if (writeBlob(c) != THUNDER_OK) break;
    } else if (equals(data, length, "resolve")) {
      if (resolveAndStream(c) != THUNDER_OK) break;
    } else if (equals(data, length, "end")) {
      thunder_connection_end(c, THUNDER_END_ERROR, "asked to end");
      break;
    } else if (thunder_connection_write(c, data, length) != THUNDER_OK) {
      break;
    }
  }
done:
  thunder_connection_close(c);
  return NULL;
}

int main(void) {
  pthread_t threads[MAX_THREADS];
  int thread_count = 0;
  int status;
  int i;
  thunder_node_info info;
  char message[128];
  thunder_connection* c;

  if (thunder_service_open(&g_service) != THUNDER_OK) {
    fprintf(stderr, "open: %s\n", thunder_last_error());
    return 2;
  }
  if (thunder_get_node_info(g_service, &info) != THUNDER_OK) {
    fprintf(stderr, "node info: %s\n", thunder_last_error());
    thunder_service_close(g_service);
    return 4;
  }
  snprintf(message, sizeof message, "c program up: service %u on node %s key %02x",
           (unsigned)info.service_id, info.node_version, info.node_key[0]);
  if (thunder_log(g_service, THUNDER_LOG_INFO, message) != THUNDER_OK) {
    thunder_service_close(g_service);
    return 4;
  }
  while ((status = thunder_service_accept(g_service, &c)) == THUNDER_OK) {
    if (thread_count == MAX_THREADS || pthread_create(&threads[thread_count], NULL, serve, c)) {
      thunder_connection_end(c, THUNDER_END_OVERLOADED, "no thread for it");
      thunder_connection_close(c);
      continue;
    }
    ++thread_count;
  }
  for (i = 0; i < thread_count; ++i) pthread_join(threads[i], NULL);
  if (status != THUNDER_END) {
    fprintf(stderr, "accept: %s: %s\n", thunder_status_name(status), thunder_last_error());
  }
  thunder_service_close(g_service);
  return status == THUNDER_END ? 0 : 3;
}
