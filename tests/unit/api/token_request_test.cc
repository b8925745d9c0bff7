// Token request parsing, dialect detection and J21 key change section selection (NECTAR-V1 §3.1.2-3.1.3).
#include "api/token_request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace stsvend::api {
namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

// The exact J21 body of NECTAR-V1 §2.9.
constexpr std::string_view kJ21Body =
    R"({"class":"2","subclass":"7","token_id":"2026-11-22T23:10","wm_factor":10,"random_no":5,"is_stid":false,)"
    R"("drn":"47500150231","config_ref":"cbf43d1f-8c2d-44a0-95a9-9c3c13ec846c","debug":false})";

constexpr std::string_view kKct =
    R"({"class":"2","subclass":"3","drn":"47500150231","config_ref":"c1","new_vending_key":"0123456789abcdef",)"
    R"("new_supply_group_code":"123456","new_tariff_index":"01","new_key_revision_no":"2","new_key_type":"2",)"
    R"("new_key_expiry_no":"255","ro":"0"})";

TEST(Dialect, Detection) {
  EXPECT_EQ(detect_dialect(obj(kJ21Body)), Dialect::kLegacy);
  EXPECT_EQ(detect_dialect(obj(R"({"decoder_reference_number":"47500150231"})")), Dialect::kArray);
  EXPECT_EQ(detect_dialect(obj(R"({"drn":"47500150231","type":"native"})")), Dialect::kArray);
  EXPECT_EQ(detect_dialect(obj(R"({})")), Dialect::kLegacy);
}

TEST(TokenRequest, J21WaterMeterFactor) {
  auto r = parse_token_request(obj(kJ21Body));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->dialect, Dialect::kLegacy);
  EXPECT_EQ(r->vend.token.token_class, 2u);
  EXPECT_EQ(r->vend.token.subclass, 7u);
  EXPECT_EQ(r->vend.token.wm_factor, 10u);
  EXPECT_EQ(r->vend.drn, "47500150231");
  EXPECT_EQ(r->vend.config_ref, "cbf43d1f-8c2d-44a0-95a9-9c3c13ec846c");
  ASSERT_TRUE(r->vend.random_no);
  EXPECT_EQ(*r->vend.random_no, 5);
  ASSERT_TRUE(r->vend.token_id);
  EXPECT_EQ(*r->vend.token_id, 1795389000);  // 2026-11-22T23:10Z
  EXPECT_EQ(token_request_fingerprint(obj(kJ21Body), *r).size(), 64u);
}

TEST(TokenRequest, NativeTypesAndStringsAreEquivalent) {
  auto a = parse_token_request(obj(
      R"({"class":0,"subclass":0,"decoder_reference_number":47500150231,"config_ref":"c","amount":10.5,"random_no":3})"));
  auto b = parse_token_request(obj(
      R"({"class":"0","subclass":"0","decoder_reference_number":"47500150231","config_ref":"c","amount":"10.5","random_no":"3"})"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(a->vend.token.amount_tenths, 105u);
  EXPECT_EQ(b->vend.token.amount_tenths, 105u);
  EXPECT_EQ(a->dialect, Dialect::kArray);
  EXPECT_FALSE(a->vend.token_id);  // absent: the server allocates the TID
}

TEST(TokenRequest, ErrorsNameTheField) {
  struct Case {
    std::string_view body;
    std::string_view field;
  };
  const Case cases[] = {
      {R"({"subclass":"0","drn":"47500150231","config_ref":"c","amount":"1"})", "class"},
      {R"({"class":"3","subclass":"0","drn":"47500150231","config_ref":"c","amount":"1"})", "class"},
      {R"({"class":"0","subclass":"8","drn":"47500150231","config_ref":"c","amount":"1"})", "subclass"},
      {R"({"class":"0","subclass":"0","config_ref":"c","amount":"1"})", "drn"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":"123","config_ref":"c","amount":"1"})",
       "decoder_reference_number"},
      {R"({"class":"0","subclass":"0","drn":"4750015023a","config_ref":"c","amount":"1"})", "drn"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","amount":"1"})", "config_ref"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c"})", "amount"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"-1"})", "amount"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"ten"})", "amount"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":[1]})", "amount"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"1","random_no":16})", "random_no"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"1","token_id":"yesterday"})",
       "token_id"},
      {R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"1","is_stid":"maybe"})", "is_stid"},
      {R"({"class":"2","subclass":"1","drn":"47500150231","config_ref":"c","register":"8"})", "register"},
      {R"({"class":"2","subclass":"7","drn":"47500150231","config_ref":"c","wm_factor":"65536"})", "wm_factor"},
      {R"({"class":"2","subclass":"7","drn":"47500150231","config_ref":"c","wm_factor":1.5})", "wm_factor"},
      {R"({"class":"1","subclass":"0","drn":"47500150231","config_ref":"c","control":"12"})", "manufacturer_code"},
      {R"({"class":"0","subclass":"0","type":"prism-thrift","drn":"47500150231","config_ref":"c","amount":"1"})", "type"},
      {R"({"class":"2","subclass":"3","drn":"47500150231","config_ref":"c","new_vending_key":"xyz"})", "new_vending_key"},
  };
  for (const auto& c : cases) {
    auto r = parse_token_request(obj(c.body));
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.body;
    EXPECT_EQ(r.status().field(), c.field) << c.body << " → " << r.status().message();
  }
}

TEST(TokenRequest, LegacyKeyChangeSectionsShareOneFingerprint) {
  auto s3 = parse_token_request(obj(kKct));
  std::string body4(kKct);
  body4.replace(body4.find(R"("subclass":"3")"), 14, R"("subclass":"4")");
  auto s4 = parse_token_request(obj(body4));
  ASSERT_TRUE(s3.ok()) << s3.status().message();
  ASSERT_TRUE(s4.ok()) << s4.status().message();
  EXPECT_TRUE(s3->key_change);
  EXPECT_EQ(s4->vend.token.subclass, 3u);  // the set is always produced from the 1st section
  EXPECT_EQ(s4->requested_subclass, 4u);
  const std::string f3 = token_request_fingerprint(obj(kKct), *s3);
  EXPECT_EQ(f3, token_request_fingerprint(obj(body4), *s4));
  EXPECT_EQ(legacy_kct_idempotency_key(f3, 1795389003), legacy_kct_idempotency_key(f3, 1795389003 + 60));
  ASSERT_TRUE(s3->vend.token.key_change);
  EXPECT_EQ(s3->vend.token.key_change->new_supply_group_code, 123456u);
  EXPECT_EQ(s3->vend.token.key_change->new_key_revision_no, 2);
  EXPECT_EQ(s3->vend.token.key_change->new_vending_key.size(), 8u);
}

TEST(TokenRequest, ArrayDialectFingerprintCoversSubclass) {
  std::string a(kKct);
  a.replace(a.find(R"("drn")"), 5, R"("decoder_reference_number")");
  std::string b = a;
  b.replace(b.find(R"("subclass":"3")"), 14, R"("subclass":"4")");
  auto ra = parse_token_request(obj(a));
  auto rb = parse_token_request(obj(b));
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_NE(token_request_fingerprint(obj(a), *ra), token_request_fingerprint(obj(b), *rb));
}

TEST(TokenRequest, FingerprintIgnoresKeyOrderButNotValues) {
  const auto body_a = obj(R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"1"})");
  const auto body_b = obj(R"({"amount":"1","config_ref":"c","drn":"47500150231","subclass":"0","class":"0"})");
  const auto body_c = obj(R"({"class":"0","subclass":"0","drn":"47500150231","config_ref":"c","amount":"2"})");
  auto a = parse_token_request(body_a);
  auto b = parse_token_request(body_b);
  auto c = parse_token_request(body_c);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(token_request_fingerprint(body_a, *a), token_request_fingerprint(body_b, *b));
  EXPECT_NE(token_request_fingerprint(body_a, *a), token_request_fingerprint(body_c, *c));
}

TEST(TokenRequest, SelectForDialect) {
  std::vector<service::TokenRecord> set(2);
  set[0].ref = "first";
  set[1].ref = "second";
  ParsedTokenRequest r;
  r.key_change = true;
  r.dialect = Dialect::kLegacy;
  r.requested_subclass = 3;
  auto one = select_for_dialect(r, set);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].ref, "first");
  r.requested_subclass = 4;
  one = select_for_dialect(r, set);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].ref, "second");
  r.dialect = Dialect::kArray;
  EXPECT_EQ(select_for_dialect(r, set).size(), 2u);
}

}  // namespace
}  // namespace stsvend::api
