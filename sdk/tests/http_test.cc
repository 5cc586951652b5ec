// HTTP response formatting and header lookup (thunder/sdk/http.h, types.h).
#include "thunder/sdk/http.h"

#include <gtest/gtest.h>

namespace thunder::sdk {
namespace {

TEST(Http, FormatsStatusLineHeadersLengthAndBody) {
  HttpResponse response;
  response.status = 404;
  response.headers = {{"Content-Type", "text/plain"}, {"X-A", "1"}};
  response.body = "nothing here";
  EXPECT_EQ(formatHttpResponse(response),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\n"
            "Content-Length: 12\r\n\r\nnothing here");
  EXPECT_EQ(formatHttpResponse(response, HttpBody::kOmit),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\n"
            "Content-Length: 12\r\n\r\n");
}

TEST(Http, KeepsTheCallersFramingHeadersAndReason) {
  EXPECT_EQ(formatHttpResponseHead(200, "Fine", {{"content-length", "5"}}, 99),
            "HTTP/1.1 200 Fine\r\ncontent-length: 5\r\n\r\n");
  EXPECT_EQ(formatHttpResponseHead(200, "", {{"Transfer-Encoding", "chunked"}}, 0),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(formatHttpResponseHead(206, "", {}, 1000),
            "HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n");
}

TEST(Http, ReasonPhrases) {
  EXPECT_EQ(httpReasonPhrase(200), "OK");
  EXPECT_EQ(httpReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(httpReasonPhrase(299), "Unknown");
}

TEST(Http, HeaderLookupIgnoresCaseAndTakesTheFirst) {
  HttpRequestHead head;
  head.headers = {{"Accept", "a"}, {"X-Dup", "first"}, {"x-dup", "second"}};
  EXPECT_EQ(head.header("accept"), "a");
  EXPECT_EQ(head.header("X-DUP"), "first");
  EXPECT_FALSE(head.header("Accep"));
  EXPECT_FALSE(head.header("Accepts"));
}

}  // namespace
}  // namespace thunder::sdk
