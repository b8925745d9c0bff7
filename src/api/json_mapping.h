// Service records → Nectar JSON objects, field names exactly as the SDKs read them (NECTAR-V1.md §3).
// Nothing here ever writes a vending key, a decoder key, a password hash or another tenant's secret.
#pragma once

#include <optional>
#include <string>

#include <boost/json.hpp>

#include "service/service.h"

namespace stsvend::api {

// Units (ten-thousandths) as a JSON double, always written with a decimal point by write_json.
boost::json::value units_json(service::Units units);

boost::json::object token_json(const service::TokenRecord& t, const boost::json::storage_ptr& sp = {});
boost::json::object user_json(const service::User& u);
boost::json::object permission_json(const service::Permission& p);
// The owner's own credential (Nectar returns the secret to its owner; see service.h).
// `with_secret`: whether the reader may see the credential's secret (see NectarApi::get_credential).
boost::json::object credential_json(const service::Credential& c, const std::optional<service::User>& user,
                                    bool with_secret);
boost::json::object public_key_json(const service::PublicKey& k);
// `detailed` adds the non-secret STS parameters; the vending key is never part of ConfigurationInfo.
boost::json::object configuration_json(const service::ConfigurationInfo& c, bool detailed);
// The listings that grow with every vend, written into a reply's text as the service hands their
// rows over (read_transactions, read_notifications) instead of held as records and a JSON tree: a
// tenant's history runs to hundreds of thousands of rows.
//
// {"credits":…,"purchases":[…],"consumptions":[…]}, appended to `out`; finish() closes it.
class TransactionsJsonWriter {
 public:
  explicit TransactionsJsonWriter(std::string& out) : out_(out) {}
  service::TransactionSink sink();
  void finish();

 private:
  void start_consumptions();

  std::string& out_;
  bool in_consumptions_ = false;
  bool first_row_ = true;
};

// [notification, …], appended to `out`; finish() closes it.
class NotificationsJsonWriter {
 public:
  explicit NotificationsJsonWriter(std::string& out) : out_(out) { out_ += '['; }
  service::RowSink<service::Notification> sink();
  void finish() { out_ += ']'; }

 private:
  std::string& out_;
  bool first_row_ = true;
};

boost::json::object meter_json(const service::Meter& m);
// J24 extras (NECTAR-V1 §3.8). `no` is a JSON integer, `unit_charge` a decimal with a point, and a
// utility's meters sit at `data.data` inside it (J24 reads them there).
boost::json::object subscriber_json(const service::Subscriber& s);
boost::json::object meter_type_json(const service::MeterType& t);
boost::json::object oss_meter_json(const service::OssMeterView& m);
boost::json::object utility_json(const service::UtilityView& u);
// The decoded fields of a token (§3.1.5), plus `result` (the meter display state) and, when this
// system issued it for the caller, `ref`, `user_ref`, `created_at`, `meter_no`. New-key parts of key
// change tokens are decoder key material and are left out.
boost::json::object decoded_json(const service::DecodeResult& d, std::optional<int> base_date_year);

}  // namespace stsvend::api
