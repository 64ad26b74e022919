#include "agent/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{30, 0};  // a broken server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// Sends `request` and reads until the server closes.
std::string Exchange(uint16_t port, const std::string& request) {
  const int fd = Connect(port);
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early on oversized input
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  return response;
}

std::unique_ptr<HttpServer> StartServer(HttpServer::Options options = {}) {
  options.listen_address = "127.0.0.1:0";
  auto server = HttpServer::Start(options, [](const HttpRequest& req) {
    if (req.path != "/metrics") return HttpResponse{.status = 404, .body = "no\n"};
    return HttpResponse{.status = 200, .content_type = "text/plain", .body = "up 1\n"};
  });
  EXPECT_TRUE(server.ok()) << server.status();
  return std::move(*server);
}

TEST(HttpServer, ServesGetMetrics) {
  auto server = StartServer();
  ASSERT_NE(server->port(), 0);
  const std::string r = Exchange(server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 5), "up 1\n");
  EXPECT_EQ(server->requests_served(), 1u);
}

TEST(HttpServer, HeadHasNoBodyAndQueryIsIgnored) {
  auto server = StartServer();
  const std::string r = Exchange(server->port(), "HEAD /metrics?x=1 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(HttpServer, RejectsOtherMethodsMalformedAndUnknownPaths) {
  auto server = StartServer();
  EXPECT_EQ(Exchange(server->port(), "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0),
            0u);
  EXPECT_EQ(Exchange(server->port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(Exchange(server->port(), "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(server->requests_rejected(), 3u);
}

TEST(HttpServer, RejectsOversizedRequest) {
  auto server = StartServer({.max_request_bytes = 1024});
  const std::string big = "GET /metrics HTTP/1.1\r\nX: " + std::string(4096, 'a') + "\r\n\r\n";
  EXPECT_EQ(Exchange(server->port(), big).rfind("HTTP/1.1 431", 0), 0u);
}

TEST(HttpServer, ClosesSilentClientAfterTimeoutAndKeepsServing) {
  auto server = StartServer({.request_timeout = absl::Milliseconds(100)});
  const int silent = Connect(server->port());
  char buf[16];
  EXPECT_EQ(recv(silent, buf, sizeof(buf), 0), 0);  // closed by the server, nothing sent
  close(silent);
  EXPECT_EQ(Exchange(server->port(), "GET /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0),
            0u);
}

TEST(HttpServer, BadAddressIsInvalidArgument) {
  auto server = HttpServer::Start({.listen_address = "not-an-address"}, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::agent

namespace lightcone::agent {
namespace {

TEST(ParseHttpRequestHead, ClassifiesEachOutcome) {
  EXPECT_EQ(ParseHttpRequestHead("GET /metrics HTTP/1.1\r\nHost: x\r\n", 8192).status,
            HttpParseStatus::kIncomplete);
  HttpParseResult ok = ParseHttpRequestHead("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", 8192);
  ASSERT_EQ(ok.status, HttpParseStatus::kOk);
  EXPECT_EQ(ok.request.method, "HEAD");
  EXPECT_EQ(ok.request.path, "/metrics");
  EXPECT_EQ(ParseHttpRequestHead("POST / HTTP/1.1\r\n\r\n", 8192).status,
            HttpParseStatus::kMethodNotAllowed);
  EXPECT_EQ(ParseHttpRequestHead("GET metrics HTTP/1.1\r\n\r\n", 8192).status,
            HttpParseStatus::kBadRequest);
  EXPECT_EQ(ParseHttpRequestHead("GET / SPDY\r\n\r\n", 8192).status, HttpParseStatus::kBadRequest);
  EXPECT_EQ(ParseHttpRequestHead(std::string(64, 'a'), 64).status, HttpParseStatus::kTooLarge);
  // The end of the headers beyond the limit is too large even if it arrived in one read.
  EXPECT_EQ(ParseHttpRequestHead("GET / HTTP/1.1\r\n" + std::string(100, 'h') + "\r\n\r\n", 64).status,
            HttpParseStatus::kTooLarge);
}

}  // namespace
}  // namespace lightcone::agent
