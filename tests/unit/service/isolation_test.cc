// Tenant isolation: another tenant's ref behaves exactly like a ref that does not exist, for every
// resource, and nothing of the owner's changes.
#include "service_fixture.h"

namespace stsvend::service {
namespace {

using testing_support::ServiceTest;

constexpr const char* kDrn = "47500150231";

class IsolationTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    a_ = make_user("alice");
    b_ = make_user("bob");
    a_config_ = add_config(a_);
    b_config_ = add_config(b_);
    auto v = svc_->vend(credit(a_, a_config_, kDrn));
    ASSERT_TRUE(v.ok());
    a_token_ = v->tokens[0];
    auto cred = svc_->create_credential(a_, PermissionSelection::All());
    ASSERT_TRUE(cred.ok());
    a_cred_ = cred->ref;
  }

  static void expect_not_found(const Status& st, std::string_view field) {
    EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.message();
    EXPECT_EQ(st.field(), field) << st.message();
  }

  static void expect_not_assigned(const Status& st) {
    EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.message();
    EXPECT_EQ(st.field(), "config_ref") << st.message();
  }

  std::string a_, b_, a_config_, b_config_, a_cred_;
  TokenRecord a_token_;
};

TEST_F(IsolationTest, Configurations) {
  expect_not_found(svc_->get_configuration(b_, a_config_).status(), "ref");
  expect_not_found(svc_->set_configuration_active(b_, a_config_, false), "ref");
  EXPECT_TRUE(svc_->get_configuration(a_, a_config_)->activated);
  {
    auto list = svc_->list_configurations(b_);
    ASSERT_TRUE(list.ok());
    for (const auto& c : *list) EXPECT_NE(c.ref, a_config_);
  }
  // Using A's configuration to vend (also for a fresh meter) or decode.
  // Vends and decodes answer GW's "not assigned" (status.code 500), the same for a ref that does not exist.
  auto vend = svc_->vend(credit(b_, a_config_, "01234567890"));
  expect_not_assigned(vend.status());
  EXPECT_EQ(vend.status().rule(), "Config " + a_config_ + " is not assigned to " + b_);
  expect_not_assigned(svc_->decode(b_, a_config_, kDrn, a_token_.token_no).status());
  expect_not_found(svc_->register_meter(b_, kDrn, a_config_).status(), "config_ref");
  EXPECT_EQ(balance(b_), 100 * kUnitScale);
}

TEST_F(IsolationTest, ConfigurationKeyCacheDoesNotLeak) {
  // A's key for this (config, meter) is now cached; B still cannot use it.
  auto vend = svc_->vend(credit(b_, a_config_, kDrn));
  expect_not_assigned(vend.status());
  expect_not_assigned(svc_->decode(b_, a_config_, kDrn, a_token_.token_no).status());
}

TEST_F(IsolationTest, Tokens) {
  expect_not_found(svc_->get_token(b_, a_token_.ref).status(), "ref");
  expect_not_found(svc_->get_token_set(b_, a_token_.ref).status(), "ref");
  expect_not_found(svc_->list_tokens_by_meter(b_, kDrn).status(), "drn");
  // B decoding A's token number with B's own configuration never returns A's record.
  auto d = svc_->decode(b_, b_config_, kDrn, a_token_.token_no);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->record.has_value());
}

TEST_F(IsolationTest, Meters) {
  expect_not_found(svc_->get_meter(b_, kDrn).status(), "drn");
  EXPECT_TRUE(svc_->list_meters(b_)->empty());
  // The same DRN in B's tenancy is B's own meter with its own TIDs.
  auto v = svc_->vend(credit(b_, b_config_, kDrn));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->tokens[0].tid, a_token_.tid);
  EXPECT_EQ(svc_->get_meter(a_, kDrn)->config_ref, a_config_);
}

TEST_F(IsolationTest, Credentials) {
  expect_not_found(svc_->get_credential(b_, a_cred_).status(), "ref");
  expect_not_found(svc_->set_credential_active(b_, a_cred_, false), "ref");
  EXPECT_TRUE(svc_->get_credential(a_, a_cred_)->activated);
  EXPECT_TRUE(svc_->list_credentials(b_)->empty());
}

TEST_F(IsolationTest, PublicKeysAndNotifications) {
  // Any valid RSA public key will do: the server's own.
  auto a_key = svc_->add_public_key(a_, "a-key", svc_->server_public_key_spki_base64(), false);
  ASSERT_TRUE(a_key.ok()) << a_key.status().message();
  expect_not_found(svc_->set_public_key_active(b_, a_key->ref, true), "ref");
  EXPECT_TRUE(svc_->list_public_keys(a_, true)->empty()) << "A's key stayed deactivated";
  EXPECT_TRUE(svc_->list_public_keys(b_, false)->empty());
  const Notification a_note = svc_->list_notifications(a_, {})->front();
  expect_not_found(svc_->set_notification_read(b_, a_note.ref, true, 1), "notification_ref");
  {
    auto list = svc_->list_notifications(b_, {});
    ASSERT_TRUE(list.ok());
    for (const auto& n : *list) EXPECT_EQ(n.user_ref, b_);
  }
  EXPECT_FALSE(svc_->list_notifications(a_, {})->front().read);
}

TEST_F(IsolationTest, CreditsAndIdempotencyKeys) {
  EXPECT_EQ(balance(a_), 99 * kUnitScale);
  EXPECT_EQ(balance(b_), 100 * kUnitScale);
  auto credits = svc_->transactions(b_, {});
  ASSERT_TRUE(credits.ok());
  for (const auto& c : credits->consumptions) EXPECT_EQ(c.user_ref, b_);
}

}  // namespace
}  // namespace stsvend::service
