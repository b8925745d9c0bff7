// Tests for the load generator's HTTP/1.1 response head parser (http_response_parser.h).
#include "http_response_parser.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace stsvend::load {
namespace {

using State = ResponseHead::State;

// What Boost.Beast (stsvend's server) sends for GET /health, byte for byte apart from the body.
constexpr std::string_view kHealth =
    "HTTP/1.1 200 OK\r\nServer: stsvend\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
    "{\"status\":\"ok\"}";

TEST(HttpResponseParser, CompleteResponseGivesStatusAndFraming) {
  const ResponseHead h = parse_response_head(kHealth);
  ASSERT_EQ(h.state, State::kComplete) << h.error;
  EXPECT_EQ(h.status, 200);
  EXPECT_FALSE(h.close);
  EXPECT_EQ(h.head_bytes, kHealth.size() - 15);
  EXPECT_EQ(h.body_bytes, 15u);
}

TEST(HttpResponseParser, EveryTruncatedHeadIsIncomplete) {
  const std::size_t head_bytes = kHealth.size() - 15;
  for (std::size_t n = 0; n < head_bytes; ++n) {
    EXPECT_EQ(parse_response_head(kHealth.substr(0, n)).state, State::kIncomplete) << "prefix " << n;
  }
  // The body is the caller's business: the head alone is complete.
  EXPECT_EQ(parse_response_head(kHealth.substr(0, head_bytes)).state, State::kComplete);
}

TEST(HttpResponseParser, BytesAfterTheBodyDoNotChangeTheFraming) {
  const std::string two = std::string(kHealth) + std::string(kHealth);
  const ResponseHead h = parse_response_head(two);
  ASSERT_EQ(h.state, State::kComplete);
  EXPECT_EQ(h.head_bytes + h.body_bytes, kHealth.size());
}

TEST(HttpResponseParser, HeaderNamesAndConnectionTokensAreCaseInsensitive) {
  const ResponseHead h = parse_response_head(
      "HTTP/1.1 503 Service Unavailable\r\ncontent-LENGTH:  2 \r\nCONNECTION: Keep-Alive, Close\r\n\r\n");
  ASSERT_EQ(h.state, State::kComplete) << h.error;
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.body_bytes, 2u);
  EXPECT_TRUE(h.close);
}

TEST(HttpResponseParser, ConnectionKeepAliveAloneDoesNotClose) {
  const ResponseHead h = parse_response_head("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.state, State::kComplete);
  EXPECT_FALSE(h.close);
  EXPECT_EQ(h.body_bytes, 0u);
}

TEST(HttpResponseParser, Http10ClosesUnlessKeepAlive) {
  EXPECT_TRUE(parse_response_head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").close);
  EXPECT_FALSE(parse_response_head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").close);
}

TEST(HttpResponseParser, EmptyReasonPhraseIsAccepted) {
  const ResponseHead h = parse_response_head("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.state, State::kComplete) << h.error;
  EXPECT_EQ(h.status, 200);
}

TEST(HttpResponseParser, NoContentAndNotModifiedHaveNoBody) {
  EXPECT_EQ(parse_response_head("HTTP/1.1 204 No Content\r\n\r\n").state, State::kComplete);
  const ResponseHead h = parse_response_head("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  ASSERT_EQ(h.state, State::kComplete);
  EXPECT_EQ(h.body_bytes, 0u);
}

TEST(HttpResponseParser, RefusesBodiesItCannotFrame) {
  for (const std::string_view in : {
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close",
           "HTTP/1.1 100 Continue\r\n\r\n",
       }) {
    const ResponseHead h = parse_response_head(in);
    EXPECT_EQ(h.state, State::kError) << in;
    EXPECT_STRNE(h.error, "") << in;
  }
}

TEST(HttpResponseParser, RefusesMalformedHeads) {
  for (const std::string_view in : {
           "HTTP/2 200 OK\r\n\r\n",
           "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: no name\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
       }) {
    EXPECT_EQ(parse_response_head(in).state, State::kError) << in;
  }
}

TEST(HttpResponseParser, NonHttpBytesFailBeforeTheHeadEnds) {
  EXPECT_EQ(parse_response_head("X").state, State::kError);
  EXPECT_EQ(parse_response_head("HTTP/2").state, State::kError);
  EXPECT_EQ(parse_response_head("HTTP/1").state, State::kIncomplete);
}

TEST(HttpResponseParser, LongestContentLengthIsAccepted) {
  const ResponseHead h = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n");
  ASSERT_EQ(h.state, State::kComplete);
  EXPECT_EQ(h.body_bytes, 999'999'999'999'999'999u);
}

TEST(HttpResponseParser, HeadWithoutEndIsRefusedAtTheLimit) {
  std::string in = "HTTP/1.1 200 OK\r\nX-Pad: ";
  in.resize(kMaxResponseHead - 1, 'a');
  EXPECT_EQ(parse_response_head(in).state, State::kIncomplete);
  in.push_back('a');
  EXPECT_EQ(parse_response_head(in).state, State::kError);
}

}  // namespace
}  // namespace stsvend::load
