// The shared known-answer vectors (shared/sts/vectors.json) through the vectors runner, plus
// checks that the runner really notices differences (a runner that passes everything is useless).
#include "cli/vectors_runner.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace stsvend::cli {
namespace {

std::string vectors_path() {
  if (const char* env = std::getenv("STS_VECTORS"); env != nullptr && *env != '\0') return env;
  const char* root = std::getenv("STSVEND_SOURCE_DIR");
  return std::string(root ? root : STSVEND_DEFAULT_SOURCE_DIR) + "/../shared/sts/vectors.json";
}

TEST(SharedVectors, EveryCasePasses) {
  const std::string path = vectors_path();
  if (!std::ifstream(path).good()) {
    GTEST_SKIP() << "vectors file " << path
                 << " is absent: it lives outside the repository (shared/sts/vectors.json next to it); "
                    "set STS_VECTORS to run the 297 shared known-answer cases";
  }
  auto report = run_vectors_file(path);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_FALSE(report->cases.empty());
  for (const VectorCaseResult& c : report->cases) {
    EXPECT_TRUE(c.passed()) << c.failure_line();
  }
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(report->passed, report->cases.size());
}

// REFERENCE.md §10.1 (CTSA01 step 1) as a one-case document; the tests below alter one thing each.
std::string ctsa01(const std::string& tokens = R"(["23716100501183194197"])",
                   const std::string& decoder_key = "6ff35b9d1f3453e6", const std::string& extra = "") {
  return R"({"cases":[{"id":"ctsa01","config":{"vending_key":"abababababababab","supply_group_code":"123456",
    "tariff_index":"01","key_revision_no":1,"key_type":2,"key_expiry_no":255,
    "decoder_key_generation_algorithm":"02","encryption_algorithm":"sta","base_date":1993,
    "issuer_identification_no":"600727"},"drn":"00000000000",
    "request":{"class":0,"subclass":0,"token_id":"2004-03-01T13:55:00Z","random_no":5,"amount":"0.1"},
    "decoder_key":")" + decoder_key + R"(","tokens":)" + tokens + R"(,"token_type":"Electricity_00",
    "data_block_hex":"005599863000119e6","decoded":{"amount":"0.1"},"peer_error":"ignored")" + extra + "}]}";
}

TEST(VectorsRunner, WorkedExamplePasses) {
  auto report = run_vectors_json(ctsa01());
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->cases.size(), 1u);
  EXPECT_TRUE(report->cases[0].passed()) << report->cases[0].failure_line();
}

TEST(VectorsRunner, WrongTokenFails) {
  auto report = run_vectors_json(ctsa01(R"(["23716100501183194198"])"));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failed, 1u);
  const std::string line = report->cases[0].failure_line();
  EXPECT_NE(line.find("tokens: expected [23716100501183194198], got [23716100501183194197]"), std::string::npos) << line;
  // The file's token is decoded too, and a mistyped token fails its CRC.
  EXPECT_NE(line.find("decode[0]: expected accepted, got CRC"), std::string::npos) << line;
}

TEST(VectorsRunner, MissingTokenFails) {
  auto report = run_vectors_json(ctsa01(R"(["23716100501183194197","23716100501183194197"])"));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 1u);
}

TEST(VectorsRunner, WrongDecoderKeyFails) {
  auto report = run_vectors_json(ctsa01(R"(["23716100501183194197"])", "6ff35b9d1f3453e7"));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failed, 1u);
  EXPECT_NE(report->cases[0].failure_line().find("decoder_key: expected 6ff35b9d1f3453e7, got 6ff35b9d1f3453e6"),
            std::string::npos);
}

TEST(VectorsRunner, WrongDecodedAmountFails) {
  std::string doc = ctsa01();
  doc.replace(doc.rfind(R"("amount":"0.1"})"), 15, R"("amount":"0.2"})");
  auto report = run_vectors_json(doc);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failed, 1u);
  EXPECT_NE(report->cases[0].failure_line().find("decoded.amount: expected 0.2, got 0.1"), std::string::npos)
      << report->cases[0].failure_line();
}

TEST(VectorsRunner, UnexpectedSuccessFailsAnExpectedErrorCase) {
  auto report = run_vectors_json(ctsa01(R"([])", "6ff35b9d1f3453e6", R"(,"expected_error":"invalid_amount")"));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failed, 1u);
  EXPECT_NE(report->cases[0].failure_line().find("refusal: expected invalid_amount, got tokens"), std::string::npos);
}

TEST(VectorsRunner, RefusalCategoryMustMatch) {
  std::string doc = ctsa01(R"([])", "6ff35b9d1f3453e6", R"(,"expected_error":"invalid_drn")");
  doc.replace(doc.find(R"("amount":"0.1")"), 14, R"("amount":"-1")");
  auto report = run_vectors_json(doc);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failed, 1u);
  EXPECT_NE(report->cases[0].failure_line().find("expected invalid_drn, got invalid_amount"), std::string::npos)
      << report->cases[0].failure_line();
  // And the right category passes.
  doc.replace(doc.find("invalid_drn"), 11, "invalid_amount");
  auto ok = run_vectors_json(doc);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->failed, 0u) << ok->cases[0].failure_line();
}

TEST(VectorsRunner, ACaseTheEngineCannotRunIsAFailure) {
  std::string doc = ctsa01();
  doc.replace(doc.find(R"("sta")"), 5, R"("rot13")");
  auto report = run_vectors_json(doc);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 1u);
  auto not_object = run_vectors_json(R"({"cases":[42]})");
  ASSERT_TRUE(not_object.ok());
  EXPECT_EQ(not_object->failed, 1u);
}

TEST(VectorsRunner, DocumentErrors) {
  EXPECT_FALSE(run_vectors_json("{").ok());
  EXPECT_FALSE(run_vectors_json(R"({"vectors":[]})").ok());
  EXPECT_EQ(run_vectors_json("[]")->cases.size(), 0u);
  EXPECT_FALSE(run_vectors_file("/nonexistent/vectors.json").ok());
}

TEST(VectorsRunner, CategoriesByField) {
  EXPECT_EQ(refusal_category(Status::InvalidArgument("amount", "x")), "invalid_amount");
  EXPECT_EQ(refusal_category(Status::InvalidArgument("vending_key_2", "x")), "invalid_vending_key");
  EXPECT_EQ(refusal_category(Status::InvalidArgument("new_vending_key", "x")), "invalid_vending_key");
  EXPECT_EQ(refusal_category(Status::FailedPrecondition("key_expiry_no", "x")), "key_expired");
  EXPECT_EQ(refusal_category(Status::InvalidArgument("new_drn", "x")), "invalid_drn");
  EXPECT_EQ(refusal_category(Status::InvalidArgument("encryption_algorithm", "x")), "incompatible_algorithms");
  EXPECT_EQ(refusal_category(Status::InvalidArgument("random_no", "x")), "other:random_no");
}

}  // namespace
}  // namespace stsvend::cli
