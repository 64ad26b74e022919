#include "agent/api_client.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "httplib.h"

namespace lightcone::api {
namespace {

TEST(ApiClientTest, RejectsUrlsThatAreNotHttp) {
  for (const char* url : {"", "fleet.example.net", "ftp://host", "http://", "https://"}) {
    EXPECT_EQ(ApiClient::Create({.url = url}).status().code(), absl::StatusCode::kInvalidArgument)
        << url;
  }
  EXPECT_TRUE(ApiClient::Create({.url = "http://127.0.0.1:1"}).ok());
  EXPECT_TRUE(ApiClient::Create({.url = "https://fleet.example.net:8443/prefix/"}).ok());
}

TEST(ApiClientTest, ClassifiesStatuses) {
  EXPECT_EQ(Classify(200), Outcome::kOk);
  EXPECT_EQ(Classify(204), Outcome::kOk);
  EXPECT_EQ(Classify(304), Outcome::kOk);
  EXPECT_EQ(Classify(400), Outcome::kPermanent);
  EXPECT_EQ(Classify(401), Outcome::kPermanent);
  EXPECT_EQ(Classify(409), Outcome::kPermanent);
  EXPECT_EQ(Classify(413), Outcome::kPermanent);
  EXPECT_EQ(Classify(408), Outcome::kRetry);
  EXPECT_EQ(Classify(429), Outcome::kRetry);
  EXPECT_EQ(Classify(500), Outcome::kRetry);
  EXPECT_EQ(Classify(503), Outcome::kRetry);
  EXPECT_STREQ(ResultLabel(ApiResponse{204, ""}), "ok");
  EXPECT_STREQ(ResultLabel(ApiResponse{404, ""}), "client_error");
  EXPECT_STREQ(ResultLabel(ApiResponse{503, ""}), "server_error");
  EXPECT_STREQ(ResultLabel(absl::UnavailableError("x")), "unavailable");
}

TEST(ApiClientTest, ErrorMessageReadsTheServersErrorBody) {
  ApiResponse r{400, R"({"error":{"code":"invalid_argument","message":"records[3]: bad signature"}})"};
  EXPECT_EQ(ErrorMessage(r), "invalid_argument: records[3]: bad signature");
  EXPECT_EQ(ErrorMessage({502, "Bad Gateway"}), "Bad Gateway");
  EXPECT_EQ(ErrorMessage({500, std::string(1000, 'x')}).size(), 200u);
}

TEST(ApiClientTest, BackoffDoublesUpToTheCapWithBoundedJitter) {
  RetryBackoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  const int64_t expected[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t e : expected) {
    int64_t got = b.Next().count();
    EXPECT_GE(got, e * 3 / 4);
    EXPECT_LE(got, e * 5 / 4);
  }
  b.Reset();
  EXPECT_LE(b.Next().count(), 125);
}

TEST(ApiClientTest, ReadsTokenFiles) {
  std::string path = ::testing::TempDir() + "/api_client_token";
  std::ofstream(path) << "  secret-token\n";
  auto token = ReadTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "secret-token");
  std::ofstream(path, std::ios::trunc) << "\n";
  EXPECT_EQ(ReadTokenFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(path + ".none").status().code(), absl::StatusCode::kNotFound);
}

// A real HTTP server on loopback that echoes what it received.
class ApiClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/base/api/v1/whoami", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("Authorization"), "text/plain");
    });
    server_.Post("/base/api/v1/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.get_header_value("Content-Type") + "|" + req.body, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ApiClientServerTest, SendsTheTokenAndJsonUnderThePathPrefix) {
  auto client = ApiClient::Create(
      {.url = "http://127.0.0.1:" + std::to_string(port_) + "/base/", .token = "tok"});
  ASSERT_TRUE(client.ok()) << client.status();
  auto get = (*client)->Get("/api/v1/whoami");
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "Bearer tok");
  auto post = (*client)->Post("/api/v1/echo", R"({"a":1})");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, R"(application/json|{"a":1})");
  auto missing = (*client)->Get("/api/v1/nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ApiClientServerTest, AnswersLongerThanTheLimitAreCutOff) {
  server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100'000, 'x'), "text/plain");
  });
  server_.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      const std::string chunk(10'000, 'y');
      for (int i = 0; i < 10; ++i) sink.write(chunk.data(), chunk.size());
      sink.done();
      return true;
    });
  });
  auto client = ApiClient::Create(
      {.url = "http://127.0.0.1:" + std::to_string(port_), .max_response_bytes = 50'000});
  ASSERT_TRUE(client.ok());
  for (const char* path : {"/big", "/chunked"}) {
    auto r = (*client)->Get(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << path << r.status();
  }
  // The same client still works for an answer within the limit, and exactly at it.
  server_.Get("/exact", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(50'000, 'z'), "text/plain");
  });
  auto exact = (*client)->Get("/exact");
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->body.size(), 50'000u);
}

TEST_F(ApiClientServerTest, NoAnswerIsUnavailable) {
  server_.stop();
  thread_.join();
  thread_ = std::thread([] {});
  auto client = ApiClient::Create({.url = "http://127.0.0.1:" + std::to_string(port_)});
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Get("/api/v1/health");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1"), absl::string_view::npos) << r.status();
}

}  // namespace
}  // namespace lightcone::api
