#include "gateway/exchange.h"

namespace thunder::gateway {

void Response::reset() {
  status_ = 200;
  fields_.clear();
  text_.clear();
  pieces_.clear();
  content_length_ = 0;
  stream_.reset();
  async_body_.reset();
  async_length_known_ = false;
  held_.clear();
  owned_.clear();
  after_ = AfterResponse::kKeepAlive;
}

void Response::header(std::string_view name, std::string_view value) {
  fields_.append(name);
  fields_.append(": ");
  fields_.append(value);
  fields_.append("\r\n");
}

void Response::addText(std::string_view text) {
  if (text.empty()) return;
  pieces_.push_back(Piece{Piece::Kind::kText, -1, text_.size(), text.size()});
  text_.append(text);
  content_length_ += text.size();
}

void Response::addFile(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  pieces_.push_back(Piece{Piece::Kind::kFile, fd, offset, length});
  content_length_ += length;
}

void Response::setAsyncBody(std::unique_ptr<AsyncBody> body, std::optional<uint64_t> length) {
  text_.clear();
  pieces_.clear();
  stream_.reset();
  async_body_ = std::move(body);
  async_length_known_ = length.has_value();
  content_length_ = length.value_or(0);
}

void Response::setStream(std::unique_ptr<StreamBody> stream, uint64_t length) {
  stream_ = std::move(stream);
  pieces_.push_back(Piece{Piece::Kind::kStream, -1, 0, length});
  content_length_ += length;
}

void Response::error(unsigned status, std::string_view message) {
  const AfterResponse after = after_;
  reset();
  after_ = after;
  status_ = status;
  header("Content-Type", "text/plain; charset=utf-8");
  header("Cache-Control", "no-store");
  header("X-Content-Type-Options", "nosniff");
  addText(message);
  addText("\n");
}

std::string_view reasonPhrase(unsigned status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "";
  }
}

}  // namespace thunder::gateway
