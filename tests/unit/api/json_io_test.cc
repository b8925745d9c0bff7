// JSON mapping on the Nectar wire: decimals with a decimal point, scalar fields as strings or native
// values, query parsing, and how a Status becomes an envelope (NECTAR-V1 §1).
#include "api/json_io.h"

#include <limits>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "api/envelope.h"
#include "api/json_mapping.h"
#include "api/nectar_api.h"

namespace stsvend::api {
namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

TEST(JsonIo, DecimalsAlwaysHaveADecimalPoint) {
  EXPECT_EQ(write_json(boost::json::value(100.0)), "100.0");
  EXPECT_EQ(write_json(boost::json::value(98.5)), "98.5");
  EXPECT_EQ(write_json(boost::json::value(0.0)), "0.0");
  EXPECT_EQ(write_json(boost::json::value(1.2345)), "1.2345");
  EXPECT_EQ(write_json(boost::json::value(100)), "100");  // integers stay integers
  EXPECT_EQ(write_json(units_json(1'000'000)), "100.0");
  EXPECT_EQ(write_json(units_json(12'345)), "1.2345");
  // Shortest round trip would be "5e-04" and "1e+22": no decimal point.
  EXPECT_EQ(write_json(units_json(5)), "0.0005");
  EXPECT_EQ(write_json(units_json(1)), "0.0001");
  EXPECT_EQ(write_json(boost::json::value(1e22)), "10000000000000000000000.0");
  EXPECT_EQ(write_json(boost::json::value(-2.5e-7)), "-0.00000025");
  EXPECT_EQ(write_json(boost::json::value(std::numeric_limits<double>::max())).size(), 311u);
  EXPECT_EQ(write_json(boost::json::value(std::numeric_limits<double>::denorm_min())).size(), 326u);
  boost::json::object o;
  o["credits"] = 120.0;
  o["name"] = "a\"b";
  o["list"] = boost::json::array{1.0, 2};
  EXPECT_EQ(write_json(o), R"({"credits":120.0,"name":"a\"b","list":[1.0,2]})");
}

// write_json escapes strings (values and keys) and prints integers, booleans and null byte for byte
// as Boost.JSON's serializer does: every single byte, then a mixed string.
TEST(JsonIo, StringsAndScalarsAsBoostJsonWritesThem) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(write_json(boost::json::value(s)), boost::json::serialize(boost::json::value(s))) << "byte " << c;
    boost::json::object o;
    o[s] = s;
    EXPECT_EQ(write_json(o), boost::json::serialize(o)) << "key byte " << c;
  }
  const std::string mixed = "plain \"q\" back\\slash\ttab\nnl\x01\x1f\x7f caf\xc3\xa9 / end";
  EXPECT_EQ(write_json(boost::json::value(mixed)), boost::json::serialize(boost::json::value(mixed)));
  EXPECT_EQ(write_json(boost::json::value("")), "\"\"");
  const boost::json::array scalars = {true, false, nullptr, std::int64_t{-9223372036854775807LL - 1},
                                      std::uint64_t{18446744073709551615ULL}, 0, -1};
  EXPECT_EQ(write_json(scalars), boost::json::serialize(scalars));
}

// Text a request carried (a percent-decoded query value, a path) can hold any byte; the answer must
// still be JSON a strict parser accepts, so what is not well-formed UTF-8 becomes U+FFFD.
TEST(JsonIo, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  EXPECT_EQ(write_json(boost::json::value(valid)), "\"" + valid + "\"");
  const std::pair<std::string, std::string> cases[] = {
      {"\xff", "\\ufffd"},
      {"a\x80" "b", "a\\ufffdb"},
      {"\xc3", "\\ufffd"},                        // truncated two-byte sequence
      {"\xc0\xaf", "\\ufffd\\ufffd"},             // overlong '/'
      {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},   // overlong '/'
      {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},   // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},  // above U+10FFFF
      {"\xe2\x82", "\\ufffd\\ufffd"},             // truncated three-byte sequence
      {"x\xe2\x82\"", "x\\ufffd\\ufffd\\\""},
  };
  for (const auto& [in, escaped] : cases) {
    const std::string out = write_json(boost::json::value(in));
    EXPECT_EQ(out, "\"" + escaped + "\"") << in;
    boost::system::error_code ec;
    const boost::json::value back = boost::json::parse(out, ec);
    EXPECT_FALSE(ec) << out;  // Boost.JSON refuses invalid UTF-8: this is the check a client makes
  }
  for (int c = 0x80; c < 0x100; ++c) {
    EXPECT_EQ(write_json(boost::json::value(std::string(1, static_cast<char>(c)))), "\"\\ufffd\"") << "byte " << c;
  }
  boost::json::object o;
  o["\xfe"] = "ok";
  EXPECT_EQ(write_json(o), "{\"\\ufffd\":\"ok\"}");
}

TEST(RequestId, IsARandomVersion4Uuid) {
  const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_request_id();
    EXPECT_TRUE(std::regex_match(id, uuid4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(JsonIo, ParseBody) {
  EXPECT_TRUE(parse_json_object("").ok());
  EXPECT_TRUE(parse_json_object("  ").ok());
  EXPECT_EQ(parse_json_object("{").status().field(), "body");
  EXPECT_EQ(parse_json_object("[1]").status().field(), "body");
  EXPECT_EQ(parse_json_object("{\"a\":1}")->at("a").as_int64(), 1);
}

TEST(JsonIo, ScalarFields) {
  const auto o = obj(R"({"a":"07","b":7,"c":7.0,"d":7.5,"e":true,"f":"TRUE","g":"0","h":{},"i":null,"j":-1})");
  EXPECT_EQ(*uint_field(o, "a", 0, 9).value(), 7u);
  EXPECT_EQ(*uint_field(o, "b", 0, 9).value(), 7u);
  EXPECT_EQ(*uint_field(o, "c", 0, 9).value(), 7u);
  EXPECT_FALSE(uint_field(o, "d", 0, 9).ok());
  EXPECT_FALSE(uint_field(o, "b", 0, 6).ok());
  EXPECT_FALSE(uint_field(o, "j", 0, 9).ok());
  EXPECT_FALSE(uint_field(o, "missing", 0, 9).value().has_value());
  EXPECT_FALSE(uint_field(o, "i", 0, 9).value().has_value());  // null is absent
  EXPECT_TRUE(*bool_field(o, "e").value());
  EXPECT_TRUE(*bool_field(o, "f").value());
  EXPECT_FALSE(*bool_field(o, "g").value());
  EXPECT_FALSE(bool_field(o, "a").ok());
  EXPECT_EQ(scalar_text(o, "h").status().field(), "h");
  EXPECT_EQ(uint_field(o, "d", 0, 9).status().rule(), "must be a whole number from 0 to 9");
}

TEST(JsonIo, QueryParsing) {
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_TRUE(parse_query("null").empty());  // J24 getUtilityMeters sends "?null"
  const auto q = parse_query("ref=a%20b&activated=1&bad=%zz&&=x&detailed=true");
  EXPECT_EQ(q.at("ref"), "a b");
  EXPECT_EQ(q.at("activated"), "1");
  EXPECT_EQ(q.at("detailed"), "true");
  EXPECT_EQ(q.count("bad"), 0u);
  EXPECT_EQ(parse_bool_text("1"), true);
  EXPECT_EQ(parse_bool_text("False"), false);
  EXPECT_EQ(parse_bool_text("yes"), std::nullopt);
}

TEST(Envelope, StatusMapping) {
  auto bad = envelope_error(Status::InvalidArgument("amount", "must be a non-negative decimal"), "rid", "/v1/tokens");
  EXPECT_EQ(bad.http_status, 200u);
  EXPECT_EQ(bad.nectar_code, 400);
  const auto body = boost::json::parse(bad.body).as_object();
  EXPECT_EQ(body.at("status").at("code").as_int64(), 400);
  EXPECT_EQ(body.at("status").at("message").as_string(), "amount: must be a non-negative decimal");
  EXPECT_EQ(body.at("status").at("field").as_string(), "amount");
  EXPECT_EQ(body.at("status").at("request_id").as_string(), "rid");
  EXPECT_FALSE(body.contains("data"));
  EXPECT_EQ(envelope_error(Status::NotFound("config_ref", "no such configuration"), "", "/").nectar_code, 405);
  EXPECT_EQ(envelope_error(Status::AlreadyExists("Idempotency-Key", "x"), "", "/").nectar_code, 700);
  EXPECT_EQ(envelope_error(Status::FailedPrecondition("credits", "Insufficient credits"), "", "/").nectar_code, 500);
  auto unparseable = envelope_error(Status::InvalidArgument(kBodyField, "must be valid JSON"), "rid", "/v1/tokens");
  EXPECT_EQ(unparseable.http_status, 400u);
  EXPECT_EQ(boost::json::parse(unparseable.body).at("message").as_string(), "body: must be valid JSON");
  auto unauth = envelope_error(Status::Unauthenticated("signature does not match"), "", "/v1/tokens");
  EXPECT_EQ(unauth.http_status, 401u);
  const auto spring = boost::json::parse(unauth.body).as_object();
  EXPECT_EQ(spring.at("status").as_int64(), 401);
  EXPECT_EQ(spring.at("error").as_string(), "Unauthorized");
  EXPECT_EQ(spring.at("path").as_string(), "/v1/tokens");
  EXPECT_EQ(envelope_error(Status::PermissionDenied("x"), "", "/").http_status, 403u);
}

TEST(Envelope, SuccessShapes) {
  const auto d = boost::json::parse(envelope_data("ok", "r", boost::json::array{}).body).as_object();
  EXPECT_TRUE(d.at("data").at("data").is_array());
  boost::json::object raw;
  raw["user_ref"] = "u";
  const auto u = boost::json::parse(envelope_raw_data("ok", "r", raw).body).as_object();
  EXPECT_EQ(u.at("data").at("user_ref").as_string(), "u");
  const auto n = boost::json::parse(envelope_no_data("ok", "r").body).as_object();
  EXPECT_FALSE(n.contains("data"));
}

TEST(JsonMapping, TokenAndConfigurationShapes) {
  service::TokenRecord t;
  t.ref = "r";
  t.token_no = "58971730332229211910";
  t.user_ref = "u";
  t.token_type = "SetWaterMeterFactor_27";
  t.meter_no = "47500150231";
  t.created_at = 1795389004512;
  EXPECT_EQ(write_json(token_json(t)),
            R"({"ref":"r","token_no":"58971730332229211910","user_ref":"u","token_type":"SetWaterMeterFactor_27",)"
            R"("meter_no":"47500150231","created_at":")" + service::format_millis(t.created_at) + R"("})");
  service::ConfigurationInfo c;
  c.ref = "c";
  c.supply_group_code = 1234;
  c.tariff_index = 1;
  const auto brief = configuration_json(c, false);
  EXPECT_FALSE(brief.contains("supply_group_code"));
  const auto detailed = configuration_json(c, true);
  EXPECT_EQ(detailed.at("supply_group_code").as_string(), "001234");
  EXPECT_EQ(detailed.at("tariff_index").as_string(), "01");
  EXPECT_FALSE(detailed.contains("vending_key"));
}

// The listings are written row by row into the reply text instead of through a JSON tree; the text
// must be what the tree wrote: the envelope, key order, decimals with a point, null read_date.
TEST(JsonMapping, ListingsWrittenRowByRow) {
  const std::string date0 = service::format_millis(0);
  const std::string date1 = service::format_millis(60'000);
  const std::string date2 = service::format_millis(120'000);
  WrittenEnvelope credits("Successfully retrieved transactions", "r1");
  TransactionsJsonWriter transactions(credits.text());
  const service::TransactionSink sink = transactions.sink();
  sink.balance(1'205'000);
  sink.purchase({"p1", "u1", 1'000'000, 1'000'000, "KES", 0});
  sink.consumption({"t1", 15'000, 60'000, "u1", "t1"});
  sink.consumption({"t2", 10'000, 120'000, "u1", "t2"});
  transactions.finish();
  const Reply full = std::move(credits).finish();
  EXPECT_EQ(full.body,
            R"({"status":{"code":200,"message":"Successfully retrieved transactions","request_id":"r1"},)"
            R"("data":{"data":{"credits":120.5,"purchases":[{"ref":"p1","user_ref":"u1","value":100.0,)"
            R"("units":100.0,"currency":"KES","purchase_date":")" + date0 + R"("}],"consumptions":[)"
            R"({"ref":"t1","units":1.5,"consumption_date":")" + date1 + R"(","user_ref":"u1","token_ref":"t1"},)"
            R"({"ref":"t2","units":1.0,"consumption_date":")" + date2 + R"(","user_ref":"u1","token_ref":"t2"}]}}})");
  EXPECT_TRUE(boost::json::parse(full.body).is_object());

  // Only consumptions, then nothing at all: both lists are still there.
  for (const bool with_consumption : {true, false}) {
    WrittenEnvelope reply("Successfully retrieved credits", "");
    TransactionsJsonWriter writer(reply.text());
    writer.sink().balance(0);
    if (with_consumption) writer.sink().consumption({"t1", 15'000, 60'000, "u1", "t1"});
    writer.finish();
    const std::string consumptions =
        with_consumption
            ? R"({"ref":"t1","units":1.5,"consumption_date":")" + date1 + R"(","user_ref":"u1","token_ref":"t1"})"
            : "";
    EXPECT_EQ(std::move(reply).finish().body,
              R"({"status":{"code":200,"message":"Successfully retrieved credits"},)"
              R"("data":{"data":{"credits":0.0,"purchases":[],"consumptions":[)" + consumptions + "]}}}");
  }

  WrittenEnvelope notes("Successfully retrieved notifications", "r2");
  NotificationsJsonWriter notifications(notes.text());
  const auto add = notifications.sink();
  add({"n1", "Token generated", "a \"quoted\" text", "GENERATE_TOKEN", "u1", "t1", false, std::nullopt, 0});
  add({"n2", "s", "t", "ADD_CONFIG", "u1", "c1", true, 60'000, 0});
  notifications.finish();
  EXPECT_EQ(std::move(notes).finish().body,
            R"({"status":{"code":200,"message":"Successfully retrieved notifications","request_id":"r2"},)"
            R"("data":{"data":[{"ref":"n1","subject":"Token generated","text":"a \"quoted\" text",)"
            R"("type":"GENERATE_TOKEN","user_ref":"u1","affected":"t1","read":false,"read_date":null,)"
            R"("created_date":")" + date0 + R"("},{"ref":"n2","subject":"s","text":"t","type":"ADD_CONFIG",)"
            R"("user_ref":"u1","affected":"c1","read":true,"read_date":")" + date1 + R"(","created_date":")" +
                date0 + R"("}]}})");

  WrittenEnvelope empty("Successfully retrieved notifications", "r3");
  NotificationsJsonWriter none(empty.text());
  none.finish();
  EXPECT_EQ(std::move(empty).finish().body,
            R"({"status":{"code":200,"message":"Successfully retrieved notifications","request_id":"r3"},)"
            R"("data":{"data":[]}})");
}

}  // namespace
}  // namespace stsvend::api
